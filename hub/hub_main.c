/*
 * hub_main.c - mxhub entry point
 *
 * Parses the configuration (defaults, -c FILE, then --options), prints
 * every problem with its file and line, and runs the loop in the
 * foreground (systemd Type=simple); -f sends the log to stderr instead of
 * syslog.
 * Trust: the command line and config file are the operator's.
 */
#include <stdio.h>

#include "hub/hub.h"
#include "lib/mx_log.h"

int
main(int argc, char **argv)
{
	struct hub_conf *conf;
	int check = 0, rc;

	conf = hub_conf_load(argc, argv, &check);
	if (conf == NULL) {
		fprintf(stderr, "mxhub: configuration refused\n");
		return 1;
	}
	if (check) {
		printf("mxhub: configuration ok (hub %s, %zu feed keys)\n",
		    conf->hub_id, conf->n_feeds);
		hub_conf_free(conf);
		return 0;
	}
	mx_log_open("mxhub", conf->foreground,
	    conf->verbose ? MX_LOG_DEBUG : MX_LOG_INFO);
	rc = hub_loop_run(conf);
	hub_conf_free(conf);
	return rc;
}
