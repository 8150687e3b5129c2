/*
 * replay_main.c - run a fuzz target over files, without libFuzzer
 *
 * Each argument is a file or a directory of files; every file is read
 * (up to REPLAY_FILE_MAX bytes) and passed to LLVMFuzzerTestOneInput once.
 * An empty or missing corpus fails, so a target whose seeds vanished does
 * not pass silently.
 * Trust: corpus files are test data.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_FILE_MAX (4 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* replay_file - feed one file to the target; -1 when unreadable */
static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL)
		return -1;
	buf = malloc(REPLAY_FILE_MAX);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REPLAY_FILE_MAX, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	int i;

	for (i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: not found\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i]) == 0)
				count++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL)
			return 1;
		while ((e = readdir(d)) != NULL) {
			char path[4096];
			int n;

			if (e->d_name[0] == '.')
				continue;
			n = snprintf(
			    path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (n < 0 || (size_t)n >= sizeof(path))
				continue;
			if (replay_file(path) == 0)
				count++;
		}
		closedir(d);
	}
	printf("replay: %u inputs ran\n", count);
	return count == 0 ? 1 : 0;
}
