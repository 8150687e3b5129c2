/*
 * fuzz_config.c - libFuzzer target for the config reader (mx_cfg_load_mem)
 *
 * The input is a config file, loaded against a table with every parameter
 * type, including a repeatable MX_CFG_FN one. Oracles: the count returned
 * equals the problems reported; each line has at most one problem, so
 * reported line numbers rise strictly and stay within the file; a blank
 * or comment line is never a problem, while a line over MX_CFG_LINE_MAX
 * or with a NUL always is; every value applied lies within its bounds.
 * Then mx_cfg_fini frees the strings (LSan reports any leak). A broken
 * oracle aborts.
 * Trust: the input is arbitrary bytes, passed as (pointer, length).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mx_alloc.h"
#include "lib/mx_cfg.h"
#include "lib/mx_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CONFIG_PEERS 8     /* most peer lines the fn keeps */
#define FUZZ_CONFIG_PEER_LEN 40 /* bytes per peer, with the NUL */

struct fuzz_config_conf {
	int is_strict;         /* MX_CFG_BOOL */
	uint64_t conn_limit;   /* MX_CFG_U64, 1..100000 */
	uint64_t msg_size_max; /* MX_CFG_SIZE, bytes, 1k..1g */
	uint64_t idle_time;    /* MX_CFG_MS, milliseconds, 10ms..1d */
	char *banner;          /* MX_CFG_STR, 1..64 bytes */
	char *note;            /* MX_CFG_STR, 0..MX_CFG_VALUE_MAX, no default */
	unsigned peer_count;   /* MX_CFG_FN: entries in peers */
	char peers[FUZZ_CONFIG_PEERS][FUZZ_CONFIG_PEER_LEN];
};

struct fuzz_config_seen {
	unsigned count;      /* problems reported */
	unsigned last;       /* line of the previous problem */
	unsigned char *line; /* per line: 1 when a problem named it */
	unsigned nlines;     /* lines in the input */
};

static struct fuzz_config_seen fuzz_config_seen;

/* fuzz_config_peer - MX_CFG_FN: keep one peer, up to the limit */
static int
fuzz_config_peer(void *conf, const char *value, char *err, size_t errlen)
{
	struct fuzz_config_conf *c = conf;
	size_t len = strlen(value);

	if (len == 0 || len >= FUZZ_CONFIG_PEER_LEN)
		return MX_EINVAL;
	if (c->peer_count == FUZZ_CONFIG_PEERS) {
		snprintf(err, errlen, "peer: more than %d", FUZZ_CONFIG_PEERS);
		return MX_ELIMIT;
	}
	memcpy(c->peers[c->peer_count++], value, len + 1);
	return 0;
}

static const struct mx_cfg_param fuzz_config_tab[] = {
    {"is_strict", MX_CFG_BOOL, offsetof(struct fuzz_config_conf, is_strict),
        "no", 0, 1, NULL, "refuse on doubt"},
    {"conn_limit", MX_CFG_U64, offsetof(struct fuzz_config_conf, conn_limit),
        "100", 1, 100000, NULL, "connections"},
    {"msg_size_max", MX_CFG_SIZE,
        offsetof(struct fuzz_config_conf, msg_size_max), "10m", 1024,
        1024 * 1024 * 1024, NULL, "message size"},
    {"idle_time", MX_CFG_MS, offsetof(struct fuzz_config_conf, idle_time),
        "30s", 10, 86400000, NULL, "idle time"},
    {"banner", MX_CFG_STR, offsetof(struct fuzz_config_conf, banner),
        "mxsentry", 1, 64, NULL, "greeting"},
    {"note", MX_CFG_STR, offsetof(struct fuzz_config_conf, note), NULL, 0,
        MX_CFG_VALUE_MAX, NULL, "free text"},
    {"peer", MX_CFG_FN, 0, NULL, 0, 0, fuzz_config_peer, "one peer"},
    {NULL, MX_CFG_BOOL, 0, NULL, 0, 0, NULL, NULL},
};

/* fuzz_config_report - record a problem and check where it points */
static void
fuzz_config_report(void *arg, const char *file, unsigned line, const char *msg)
{
	struct fuzz_config_seen *s = arg;

	if (file == NULL || strcmp(file, "fuzz.conf") != 0)
		abort();
	if (msg == NULL || msg[0] == '\0' ||
	    memchr(msg, '\0', MX_CFG_ERR_MAX) == NULL)
		abort();
	/* one problem per line at most, in line order, inside the file */
	if (line == 0 || line > s->nlines || line <= s->last)
		abort();
	s->line[line - 1] = 1;
	s->last = line;
	s->count++;
}

/* fuzz_config_is_space - what inih skips at the start of a line */
static int
fuzz_config_is_space(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * fuzz_config_expect - what must be said about line n (1-based)
 * Returns 1 when a problem is required, -1 when none is allowed, 0 when
 * either may happen (it depends on the key and value).
 */
static int
fuzz_config_expect(const uint8_t *p, size_t len, unsigned n)
{
	size_t i = 0;

	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (n == 1 && len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		len -= 3;
	}
	if (len > MX_CFG_LINE_MAX || memchr(p, '\0', len) != NULL)
		return 1;
	while (i < len && fuzz_config_is_space(p[i]))
		i++;
	if (i == len || p[i] == '#' || p[i] == ';')
		return -1;
	if (p[i] == '[' || i > 0 || memchr(p, '=', len) == NULL)
		return 1;
	return 0;
}

/* fuzz_config_check - values in bounds, lines classified as expected */
static void
fuzz_config_check(
    const struct fuzz_config_conf *c, const uint8_t *data, size_t size)
{
	const struct fuzz_config_seen *s = &fuzz_config_seen;
	size_t pos = 0;
	unsigned n = 0;

	if (c->is_strict != 0 && c->is_strict != 1)
		abort();
	if (c->conn_limit < 1 || c->conn_limit > 100000)
		abort();
	if (c->msg_size_max < 1024 || c->msg_size_max > 1024 * 1024 * 1024)
		abort();
	if (c->idle_time < 10 || c->idle_time > 86400000)
		abort();
	if (c->banner == NULL || strlen(c->banner) < 1 ||
	    strlen(c->banner) > 64)
		abort();
	if (c->note != NULL && strlen(c->note) > MX_CFG_LINE_MAX)
		abort();
	if (c->peer_count > FUZZ_CONFIG_PEERS)
		abort();
	while (pos < size) {
		const uint8_t *p = data + pos;
		const uint8_t *nl = memchr(p, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - p) : size - pos;
		int want = fuzz_config_expect(p, len, ++n);

		if ((want > 0 && !s->line[n - 1]) ||
		    (want < 0 && s->line[n - 1]))
			abort();
		pos += len + (nl != NULL);
	}
	if (n != s->nlines)
		abort();
}

/* LLVMFuzzerTestOneInput - load one input as a config file */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_config_seen *s = &fuzz_config_seen;
	struct fuzz_config_conf c;
	char err[MX_CFG_ERR_MAX];
	size_t i;
	int n;

	memset(&c, 0, sizeof(c));
	if (mx_cfg_init(fuzz_config_tab, &c, err, sizeof(err)) != 0)
		abort();
	if (size > MX_CFG_FILE_MAX) {
		/* too big: one problem for the whole file, nothing read */
		if (mx_cfg_load_mem(fuzz_config_tab, &c, "fuzz.conf",
		        (const char *)data, size, NULL, NULL) != 1)
			abort();
		mx_cfg_fini(fuzz_config_tab, &c);
		return 0;
	}
	memset(s, 0, sizeof(*s));
	for (i = 0; i < size; i++)
		if (data[i] == '\n' && i + 1 < size)
			s->nlines++;
	if (size > 0)
		s->nlines++;
	s->line = mx_calloc(s->nlines + 1, 1);
	n = mx_cfg_load_mem(fuzz_config_tab, &c, "fuzz.conf",
	    (const char *)data, size, fuzz_config_report, s);
	if (n < 0 || (unsigned)n != s->count)
		abort();
	fuzz_config_check(&c, data, size);
	mx_cfg_fini(fuzz_config_tab, &c);
	if (c.banner != NULL || c.note != NULL)
		abort();
	mx_free(s->line);
	s->line = NULL;
	return 0;
}
