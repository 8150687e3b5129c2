/*
 * pub.c - bench_hub_pub: telemetry batches into a real broker, as fast
 * as mxhub counts them
 *
 * Publishes the batches of bench_tel.h (the same generator bench_hub
 * feeds the hub's modules with) QoS 1 on mxs/v1/telemetry/<pop>/<edge>,
 * as eight edges in four POPs would. Every event carries the wall clock
 * at its batch's encoding. Flow control, so the broker's queue for the
 * hub stays short and the run measures the hub, not a backlog: at most
 * --inflight batches unacknowledged by the broker, and, with --metrics,
 * at most --ahead events published beyond the hub's
 * mxhub_telemetry_events_total (read from its /metrics every --poll-ms
 * while over). Prints what it published, its own CPU time (getrusage)
 * and a RESULT line for bench/hub/run.
 * Trust: the metrics endpoint is the local hub's; its reply is read into
 * a bounded buffer and only one number is parsed from it.
 * Limits: BENCH_PUB_HTTP_MAX bytes of metrics reply; options as parsed.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "lib/mx_buf.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"
#include "proto/proto_msg.h"
#include "proto/proto_topic.h"
#include "bench/hub/bench_tel.h"

#define BENCH_PUB_HTTP_MAX (256 * 1024) /* metrics reply, bytes */
#define BENCH_PUB_EVENTS_MAX 1000000000ULL
#define BENCH_PUB_METRIC "\nmxhub_telemetry_events_total "

struct bench_pub_opts {
	char broker_host[256];
	uint16_t broker_port;
	char metrics_host[256];
	uint16_t metrics_port; /* 0: no flow control by the hub */
	uint64_t events;       /* events to publish */
	uint64_t batch;        /* events per batch */
	uint64_t ips;          /* client address pool */
	uint64_t seed;         /* generator seed */
	uint64_t first;        /* first batch number */
	uint64_t ahead;        /* events allowed past the hub's count */
	uint64_t inflight;     /* batches not yet acknowledged */
	uint64_t poll_ms;      /* metrics poll period while over --ahead */
};

static atomic_uint_fast64_t bench_pub_acked; /* PUBACKs received */
static atomic_int bench_pub_up;              /* CONNACK 0 seen */

/* bench_pub_mono_ms - CLOCK_MONOTONIC in ms (double) */
static double
bench_pub_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* bench_pub_real_ms - unix ms */
static uint64_t
bench_pub_real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* bench_pub_sleep_ms - sleep ms milliseconds */
static void
bench_pub_sleep_ms(uint64_t ms)
{
	struct timespec ts = {
	    (time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};

	nanosleep(&ts, NULL);
}

/* bench_pub_on_connect - CONNACK */
static void
bench_pub_on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)m;
	(void)arg;
	if (rc == 0)
		atomic_store(&bench_pub_up, 1);
	else
		fprintf(stderr, "bench_hub_pub: CONNACK %s\n",
		    mosquitto_connack_string(rc));
}

/* bench_pub_on_publish - PUBACK of one batch */
static void
bench_pub_on_publish(struct mosquitto *m, void *arg, int mid)
{
	(void)m;
	(void)arg;
	(void)mid;
	atomic_fetch_add(&bench_pub_acked, 1);
}

/*
 * bench_pub_hub_events - the hub's mxhub_telemetry_events_total from
 * GET /metrics; 0 with *out, or -1
 */
static int
bench_pub_hub_events(const struct bench_pub_opts *o, uint64_t *out)
{
	static char buf[BENCH_PUB_HTTP_MAX + 1];
	struct sockaddr_in sa;
	const char *p, *end;
	size_t len = 0;
	ssize_t n;
	int fd, rc = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(o->metrics_port);
	if (inet_pton(AF_INET, o->metrics_host, &sa.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	n = snprintf(buf, sizeof(buf),
	    "GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n", o->metrics_host);
	if (n <= 0 || (size_t)n >= sizeof(buf) ||
	    write(fd, buf, (size_t)n) != n)
		goto out;
	while (len < BENCH_PUB_HTTP_MAX &&
	       (n = read(fd, buf + len, BENCH_PUB_HTTP_MAX - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	p = strstr(buf, BENCH_PUB_METRIC);
	if (p == NULL)
		goto out;
	p += strlen(BENCH_PUB_METRIC);
	end = strchr(p, '\n');
	if (end == NULL ||
	    mx_parse_u64(p, (size_t)(end - p), 0, UINT64_MAX, out) != 0)
		goto out;
	rc = 0;
out:
	close(fd);
	return rc;
}

/* bench_pub_usage - print the options */
static void
bench_pub_usage(const char *prog)
{
	fprintf(stderr,
	    "usage: %s --broker HOST:PORT [--metrics HOST:PORT] [--events N] "
	    "[--batch B] [--ips P] [--seed S] [--first-batch K] [--ahead E] "
	    "[--inflight I] [--poll-ms MS]\n"
	    "  --broker HOST:PORT   the broker (IPv4 literal)\n"
	    "  --metrics HOST:PORT  the hub's /metrics: stay at most --ahead "
	    "events beyond its count (default: no hub flow control)\n"
	    "  --events N           events to publish (default 1000000)\n"
	    "  --batch B            events per batch (default 500)\n"
	    "  --ips P              client address pool (default 100000)\n"
	    "  --seed S             generator seed (default 1)\n"
	    "  --first-batch K      first batch number (default 0)\n"
	    "  --ahead E            events beyond the hub's count (default "
	    "25000)\n"
	    "  --inflight I         batches not yet acknowledged by the "
	    "broker (default 64)\n"
	    "  --poll-ms MS         metrics poll period while ahead "
	    "(default 10)\n",
	    prog);
}

/* bench_pub_args - parse the command line; 0 or MX_EINVAL */
static int
bench_pub_args(int argc, char **argv, struct bench_pub_opts *o)
{
	uint64_t *num, min, max;
	const char *v;
	int i;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return MX_EINVAL;
		v = argv[i + 1];
		min = 1;
		max = BENCH_PUB_EVENTS_MAX;
		if (strcmp(argv[i], "--broker") == 0) {
			if (mx_parse_hostport(v, strlen(v), o->broker_host,
			        sizeof(o->broker_host), &o->broker_port) != 0)
				return MX_EINVAL;
			i++;
			continue;
		}
		if (strcmp(argv[i], "--metrics") == 0) {
			if (mx_parse_hostport(v, strlen(v), o->metrics_host,
			        sizeof(o->metrics_host), &o->metrics_port) != 0)
				return MX_EINVAL;
			i++;
			continue;
		}
		if (strcmp(argv[i], "--events") == 0) {
			num = &o->events;
		} else if (strcmp(argv[i], "--batch") == 0) {
			num = &o->batch;
			max = PROTO_BATCH_EVENTS_MAX;
		} else if (strcmp(argv[i], "--ips") == 0) {
			num = &o->ips;
			max = 100000000ULL;
		} else if (strcmp(argv[i], "--seed") == 0) {
			num = &o->seed;
			min = 0;
			max = UINT64_MAX;
		} else if (strcmp(argv[i], "--first-batch") == 0) {
			num = &o->first;
			min = 0;
		} else if (strcmp(argv[i], "--ahead") == 0) {
			num = &o->ahead;
		} else if (strcmp(argv[i], "--inflight") == 0) {
			num = &o->inflight;
			max = 65535;
		} else if (strcmp(argv[i], "--poll-ms") == 0) {
			num = &o->poll_ms;
			max = 10000;
		} else {
			return MX_EINVAL;
		}
		i++;
		if (mx_parse_u64(v, strlen(v), min, max, num) != 0)
			return MX_EINVAL;
	}
	return o->broker_port != 0 ? 0 : MX_EINVAL;
}

/* main - connect, publish every batch under the flow control, report */
int
main(int argc, char **argv)
{
	struct bench_pub_opts o = {.events = 1000000,
	    .batch = 500,
	    .ips = 100000,
	    .seed = 1,
	    .ahead = 25000,
	    .inflight = 64,
	    .poll_ms = 10};
	struct bench_tel_opts to;
	struct bench_tel g;
	struct mosquitto *m = NULL;
	struct mx_buf buf;
	struct rusage ru;
	char topic[PROTO_TOPIC_MAX];
	const char *edge, *pop;
	uint64_t sent = 0, batches = 0, bytes = 0, hub = 0, polls = 0;
	uint64_t waits = 0;
	double t0, t1, cpu;
	int rc, ret = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (bench_pub_args(argc, argv, &o) != 0) {
		bench_pub_usage(argv[0]);
		return 2;
	}
	to.seed = o.seed;
	to.ips = (uint32_t)o.ips;
	to.events = (uint32_t)o.batch;
	bench_tel_init(&g, &to);
	g.batch = o.first;
	mx_buf_init(&buf, PROTO_MSG_MAX);
	mosquitto_lib_init();
	if ((m = mosquitto_new(NULL, true, NULL)) == NULL)
		goto out;
	mosquitto_connect_callback_set(m, bench_pub_on_connect);
	mosquitto_publish_callback_set(m, bench_pub_on_publish);
	mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, (int)o.inflight);
	if ((rc = mosquitto_connect(m, o.broker_host, o.broker_port, 30)) !=
	        MOSQ_ERR_SUCCESS ||
	    (rc = mosquitto_loop_start(m)) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_hub_pub: broker %s:%u: %s\n",
		    o.broker_host, (unsigned)o.broker_port,
		    mosquitto_strerror(rc));
		goto out;
	}
	for (t0 = bench_pub_mono_ms(); !atomic_load(&bench_pub_up);) {
		if (bench_pub_mono_ms() - t0 > 10000) {
			fprintf(stderr, "bench_hub_pub: no CONNACK\n");
			goto out;
		}
		bench_pub_sleep_ms(1);
	}
	if (o.metrics_port != 0 && bench_pub_hub_events(&o, &hub) != 0) {
		fprintf(stderr, "bench_hub_pub: cannot read %s:%u/metrics\n",
		    o.metrics_host, (unsigned)o.metrics_port);
		goto out;
	}
	/* the hub's count before the run: the window is relative to it */
	{
		uint64_t hub0 = hub;

		t0 = bench_pub_mono_ms();
		while (sent < o.events) {
			while (batches - atomic_load(&bench_pub_acked) >=
			       o.inflight)
				bench_pub_sleep_ms(1);
			if (o.metrics_port != 0 &&
			    sent > hub - hub0 + o.ahead) {
				if (bench_pub_hub_events(&o, &hub) != 0) {
					fprintf(stderr, "bench_hub_pub: "
					                "metrics lost\n");
					goto out;
				}
				polls++;
				if (sent > hub - hub0 + o.ahead) {
					waits++;
					bench_pub_sleep_ms(o.poll_ms);
					continue;
				}
			}
			if ((rc = bench_tel_next(&g, bench_pub_real_ms(), &buf,
			         &edge, &pop)) != 0 ||
			    (rc = proto_topic_telemetry(
			         topic, sizeof(topic), pop, edge)) != 0) {
				fprintf(stderr, "bench_hub_pub: encode: %s\n",
				    mx_strerror(rc));
				goto out;
			}
			rc = mosquitto_publish(
			    m, NULL, topic, (int)buf.len, buf.data, 1, false);
			if (rc != MOSQ_ERR_SUCCESS) {
				fprintf(stderr, "bench_hub_pub: publish: %s\n",
				    mosquitto_strerror(rc));
				goto out;
			}
			batches++;
			bytes += buf.len;
			sent += o.batch;
		}
		while (atomic_load(&bench_pub_acked) < batches) {
			if (bench_pub_mono_ms() - t0 > 600000) {
				fprintf(stderr, "bench_hub_pub: PUBACKs "
				                "missing\n");
				goto out;
			}
			bench_pub_sleep_ms(1);
		}
		t1 = bench_pub_mono_ms();
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("bench_hub_pub: %llu events in %llu batches (%.1f MB) to "
	       "%s:%u in %.3f s (%.0f events/s), publisher CPU %.3f s "
	       "(%.2f us/event), %llu metrics polls, %llu waits\n",
	    (unsigned long long)sent, (unsigned long long)batches,
	    (double)bytes / 1e6, o.broker_host, (unsigned)o.broker_port,
	    (t1 - t0) / 1e3, (double)sent / ((t1 - t0) / 1e3), cpu,
	    cpu * 1e6 / (double)sent, (unsigned long long)polls,
	    (unsigned long long)waits);
	printf("RESULT events=%llu batches=%llu bytes=%llu secs=%.3f "
	       "cpu=%.3f\n",
	    (unsigned long long)sent, (unsigned long long)batches,
	    (unsigned long long)bytes, (t1 - t0) / 1e3, cpu);
	ret = 0;
out:
	if (m != NULL) {
		mosquitto_disconnect(m);
		mosquitto_loop_stop(m, false);
		mosquitto_destroy(m);
	}
	mosquitto_lib_cleanup();
	mx_buf_fini(&buf);
	bench_tel_fini(&g);
	return ret;
}
