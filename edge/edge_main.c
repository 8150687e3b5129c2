/*
 * edge_main.c - mxedge entry point
 *
 * Parses the configuration (defaults, -c FILE, then --options), prints
 * every problem with its file and line, and runs the server. mxedge stays
 * in the foreground (systemd Type=simple); -f sends the log to stderr
 * instead of syslog.
 * Trust: the command line and config file are the operator's.
 */
#include <signal.h>
#include <stdio.h>

#include <event2/thread.h>

#include "lib/mx_log.h"
#include "edge/edge_int.h"

int
main(int argc, char **argv)
{
	struct edge_conf *conf;
	int check = 0;

	conf = edge_conf_load(argc, argv, &check);
	if (conf == NULL) {
		fprintf(stderr, "mxedge: configuration refused\n");
		return 1;
	}
	if (check) {
		printf("mxedge: configuration ok (%zu listeners, %zu routes)\n",
		    conf->n_listen, conf->n_routes);
		edge_conf_unref(conf);
		return 0;
	}
	mx_log_open("mxedge", conf->foreground,
	    conf->verbose ? MX_LOG_DEBUG : MX_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0)
		mx_fatal("libevent without thread support");
	edge_server_set_args(argc, argv);
	return edge_server_run(conf);
}
