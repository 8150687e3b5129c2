/*
 * proto_sign.c - Ed25519 signatures over mxs messages (OpenSSL 3 EVP)
 *
 * Signs and verifies "MXS1" || type || body with pure Ed25519 (one-shot
 * EVP_DigestSign/EVP_DigestVerify with no digest), loads and writes PEM
 * keys, and keeps the ring of keys a program trusts. Pure Ed25519 cannot
 * stream, so the signed input is assembled once in a buffer bounded by
 * PROTO_MSG_MAX plus the 5-byte prefix; a keyring check builds it once and
 * tries every key against it.
 * Trust: bodies and signatures come from the wire, bounded by PROTO_MSG_MAX
 * and PROTO_SIG_LEN; anything that does not verify is MX_ESIG. Key files
 * come from the operator: at most PROTO_SIGN_FILE_MAX bytes are read, the
 * key must be Ed25519 of the expected kind (else MX_EKEY), and a passphrase
 * is never asked for. Private key bytes that pass through our buffers are
 * cleansed and never logged. The OpenSSL error queue is cleared after every
 * failure, so a refused signature cannot confuse a later TLS call on the
 * same thread.
 */
#include "proto/proto_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"

#define PROTO_SIGN_PREFIX "MXS1"        /* domain separation, no NUL */
#define PROTO_SIGN_PREFIX_LEN 4         /* bytes of PROTO_SIGN_PREFIX */
#define PROTO_SIGN_HDR_LEN 5            /* prefix plus the type byte */
#define PROTO_SIGN_FILE_MAX (16 * 1024) /* largest key file read, bytes */
#define PROTO_SIGN_PATH_MAX 4096        /* longest key path, with NUL */

struct proto_key {
	EVP_PKEY *pkey;  /* Ed25519, owned */
	int has_private; /* non-zero when pkey holds the private half */
};

/* proto_sign_fail - map an error and drop OpenSSL's queued errors */
static int
proto_sign_fail(int rc)
{
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

/* proto_sign_input - assemble "MXS1" || type || body; caller frees */
static int
proto_sign_input(unsigned type, const uint8_t *body, size_t len, uint8_t **out,
    size_t *outlen)
{
	uint8_t *msg;

	if (type > UINT8_MAX || (body == NULL && len > 0))
		return MX_EINVAL;
	if (len > PROTO_MSG_MAX)
		return MX_ETOOBIG;
	msg = mx_malloc(PROTO_SIGN_HDR_LEN + len);
	memcpy(msg, PROTO_SIGN_PREFIX, PROTO_SIGN_PREFIX_LEN);
	msg[PROTO_SIGN_PREFIX_LEN] = (uint8_t)type;
	if (len > 0)
		memcpy(msg + PROTO_SIGN_HDR_LEN, body, len);
	*out = msg;
	*outlen = PROTO_SIGN_HDR_LEN + len;
	return 0;
}

/* proto_key_wrap - own pkey in a new proto_key */
static struct proto_key *
proto_key_wrap(EVP_PKEY *pkey, int has_private)
{
	struct proto_key *k = mx_calloc(1, sizeof(*k));

	k->pkey = pkey;
	k->has_private = has_private;
	return k;
}

/* proto_key_generate - a fresh Ed25519 key pair */
int
proto_key_generate(struct proto_key **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = MX_EIO;

	if (out == NULL) {
		rc = MX_EINVAL;
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1)
		goto out;
	*out = proto_key_wrap(pkey, 1);
	pkey = NULL;
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return proto_sign_fail(rc);
}

/* proto_key_no_pass - passphrase callback that refuses: never prompt */
static int
proto_key_no_pass(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

/* proto_key_read_file - read a whole key file, bounded; caller cleanses */
static int
proto_key_read_file(const char *path, uint8_t **out, size_t *outlen)
{
	uint8_t *text = NULL;
	size_t got = 0;
	struct stat st;
	ssize_t n;
	int fd = -1, rc = MX_EIO;

	/* O_NONBLOCK: a FIFO named as a key must not block the open */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		goto out;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	/* one byte more than the limit, to tell "at the limit" from "over" */
	text = mx_malloc(PROTO_SIGN_FILE_MAX + 1);
	for (;;) {
		n = read(fd, text + got, PROTO_SIGN_FILE_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > PROTO_SIGN_FILE_MAX) {
			/* no PEM key is this large: not a key */
			rc = MX_EKEY;
			goto out;
		}
	}
	*out = text;
	*outlen = got;
	text = NULL;
	rc = 0;
out:
	if (text != NULL) {
		OPENSSL_cleanse(text, got);
		mx_free(text);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* proto_key_load - read a PEM file as a private or a public Ed25519 key */
static int
proto_key_load(const char *path, int want_private, struct proto_key **out)
{
	uint8_t *text = NULL;
	size_t len = 0, privlen = 0;
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int rc;

	if (path == NULL || out == NULL) {
		rc = MX_EINVAL;
		goto out;
	}
	if ((rc = proto_key_read_file(path, &text, &len)) != 0)
		goto out;
	rc = MX_EKEY;
	if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL) {
		rc = MX_EIO;
		goto out;
	}
	/* the callback refuses: an encrypted key fails instead of prompting */
	if (want_private)
		pkey =
		    PEM_read_bio_PrivateKey(bio, NULL, proto_key_no_pass, NULL);
	else
		pkey = PEM_read_bio_PUBKEY(bio, NULL, proto_key_no_pass, NULL);
	if (pkey == NULL)
		goto out;
	/* an X25519 or Ed448 key must not pass for a signing key */
	if (!EVP_PKEY_is_a(pkey, "ED25519"))
		goto out;
	/*
	 * The private decoder may hand back a public-only key; ask for the
	 * private length only (NULL buffer) so no secret is copied out.
	 */
	if (want_private &&
	    (EVP_PKEY_get_raw_private_key(pkey, NULL, &privlen) != 1 ||
	        privlen == 0))
		goto out;
	*out = proto_key_wrap(pkey, want_private);
	pkey = NULL;
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	if (text != NULL) {
		OPENSSL_cleanse(text, len);
		mx_free(text);
	}
	return proto_sign_fail(rc);
}

/* proto_key_load_private - PKCS#8 PEM private key */
int
proto_key_load_private(const char *path, struct proto_key **out)
{
	return proto_key_load(path, 1, out);
}

/* proto_key_load_public - SubjectPublicKeyInfo PEM public key */
int
proto_key_load_public(const char *path, struct proto_key **out)
{
	return proto_key_load(path, 0, out);
}

/* proto_key_write_all - write n bytes to fd, retrying short writes */
static int
proto_key_write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return MX_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* proto_key_sync_dir - fsync the directory holding path (the rename) */
static int
proto_key_sync_dir(const char *path)
{
	char dir[PROTO_SIGN_PATH_MAX];
	const char *slash;
	size_t len = strlen(path);
	int fd = -1, n, rc = MX_EIO;

	slash = memrchr(path, '/', len);
	if (slash == NULL)
		n = snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		n = snprintf(dir, sizeof(dir), "/");
	else
		n = snprintf(
		    dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		rc = MX_EINVAL;
		goto out;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto out;
	/* some file systems cannot sync a directory; the rename stands */
	if (fsync(fd) != 0 && errno != EINVAL)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* proto_key_write - PEM to path atomically: temp file, fsync, rename */
static int
proto_key_write(
    const struct proto_key *k, const char *path, int want_private, mode_t mode)
{
	char tmp[PROTO_SIGN_PATH_MAX];
	BIO *bio = NULL;
	char *pem = NULL;
	long pemlen = 0;
	int fd = -1, n, ok, has_tmp = 0, rc = MX_EIO;

	if (k == NULL || k->pkey == NULL || (want_private && !k->has_private)) {
		rc = MX_EKEY;
		goto out;
	}
	if (path == NULL || path[0] == '\0') {
		rc = MX_EINVAL;
		goto out;
	}
	/* secure-heap memory BIO: freed with a cleanse, even on regrowth */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		goto out;
	if (want_private)
		ok = PEM_write_bio_PrivateKey(
		    bio, k->pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_PUBKEY(bio, k->pkey);
	if (ok != 1)
		goto out;
	pemlen = BIO_get_mem_data(bio, &pem);
	if (pemlen <= 0 || pem == NULL)
		goto out;
	n = snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		rc = MX_EINVAL;
		goto out;
	}
	/* mkostemp creates the file 0600 and exclusive: never readable */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		goto out;
	has_tmp = 1;
	if (fchmod(fd, mode) != 0)
		goto out;
	if (proto_key_write_all(fd, (const uint8_t *)pem, (size_t)pemlen) != 0)
		goto out;
	if (fsync(fd) != 0)
		goto out;
	n = close(fd);
	fd = -1;
	if (n != 0)
		goto out;
	if (rename(tmp, path) != 0)
		goto out;
	has_tmp = 0;
	rc = proto_key_sync_dir(path);
out:
	if (fd >= 0)
		close(fd);
	if (has_tmp)
		unlink(tmp);
	if (pem != NULL && pemlen > 0)
		OPENSSL_cleanse(pem, (size_t)pemlen);
	BIO_free(bio);
	return proto_sign_fail(rc);
}

/* proto_key_write_private - unencrypted PKCS#8 PEM, mode 0600 */
int
proto_key_write_private(const struct proto_key *k, const char *path)
{
	return proto_key_write(k, path, 1, 0600);
}

/* proto_key_write_public - SubjectPublicKeyInfo PEM, mode 0644 */
int
proto_key_write_public(const struct proto_key *k, const char *path)
{
	return proto_key_write(k, path, 0, 0644);
}

/* proto_key_public_raw - the 32 raw public key bytes */
int
proto_key_public_raw(const struct proto_key *k, uint8_t out[PROTO_PUBKEY_LEN])
{
	uint8_t raw[PROTO_PUBKEY_LEN];
	size_t len = sizeof(raw);
	int rc = MX_EKEY;

	if (k == NULL || k->pkey == NULL || out == NULL)
		goto out;
	if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) != 1 ||
	    len != PROTO_PUBKEY_LEN)
		goto out;
	memcpy(out, raw, PROTO_PUBKEY_LEN);
	rc = 0;
out:
	return proto_sign_fail(rc);
}

/* proto_key_from_public_raw - public-only key from 32 raw bytes */
int
proto_key_from_public_raw(
    const uint8_t raw[PROTO_PUBKEY_LEN], struct proto_key **out)
{
	EVP_PKEY *pkey;
	int rc = MX_EKEY;

	if (raw == NULL || out == NULL) {
		rc = MX_EINVAL;
		goto out;
	}
	pkey = EVP_PKEY_new_raw_public_key(
	    EVP_PKEY_ED25519, NULL, raw, PROTO_PUBKEY_LEN);
	if (pkey == NULL)
		goto out;
	*out = proto_key_wrap(pkey, 0);
	rc = 0;
out:
	return proto_sign_fail(rc);
}

/* proto_key_free - release the key; OpenSSL clears the private half */
void
proto_key_free(struct proto_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	mx_free(k);
}

/* proto_sign - Ed25519 over "MXS1" || type || body */
int
proto_sign(const struct proto_key *k, unsigned type, const uint8_t *body,
    size_t len, uint8_t sig[PROTO_SIG_LEN])
{
	uint8_t out[PROTO_SIG_LEN];
	EVP_MD_CTX *ctx = NULL;
	uint8_t *msg = NULL;
	size_t msglen = 0, siglen = sizeof(out);
	int rc;

	if (k == NULL || k->pkey == NULL || !k->has_private) {
		rc = MX_EKEY;
		goto out;
	}
	if (sig == NULL) {
		rc = MX_EINVAL;
		goto out;
	}
	if ((rc = proto_sign_input(type, body, len, &msg, &msglen)) != 0)
		goto out;
	rc = MX_EIO;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* NULL digest: pure Ed25519, which hashes the message itself */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1) {
		rc = MX_EKEY;
		goto out;
	}
	if (EVP_DigestSign(ctx, out, &siglen, msg, msglen) != 1 ||
	    siglen != PROTO_SIG_LEN)
		goto out;
	memcpy(sig, out, PROTO_SIG_LEN);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	mx_free(msg);
	return proto_sign_fail(rc);
}

/* proto_verify_input - check sig over an assembled signature input */
static int
proto_verify_input(const struct proto_key *k, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = NULL;
	int rc = MX_EKEY;

	if (k == NULL || k->pkey == NULL)
		goto out;
	if (sig == NULL || siglen != PROTO_SIG_LEN) {
		rc = MX_ESIG;
		goto out;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		rc = MX_EIO;
		goto out;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) != 1)
		goto out;
	/* anything but 1 (0 = bad signature, <0 = error) refuses */
	rc = EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1 ? 0 : MX_ESIG;
out:
	EVP_MD_CTX_free(ctx);
	return proto_sign_fail(rc);
}

/* proto_verify - check sig over "MXS1" || type || body */
int
proto_verify(const struct proto_key *k, unsigned type, const uint8_t *body,
    size_t len, const uint8_t *sig, size_t siglen)
{
	uint8_t *msg = NULL;
	size_t msglen = 0;
	int rc;

	if (k == NULL || k->pkey == NULL) {
		rc = MX_EKEY;
		goto out;
	}
	/* a type that is not a byte, or an oversized body, cannot verify */
	if (proto_sign_input(type, body, len, &msg, &msglen) != 0) {
		rc = MX_ESIG;
		goto out;
	}
	rc = proto_verify_input(k, msg, msglen, sig, siglen);
out:
	mx_free(msg);
	return rc;
}

/* proto_sign_message - sign body, append the signed envelope to out */
int
proto_sign_message(struct mx_buf *out, const struct proto_key *k, unsigned type,
    const uint8_t *body, size_t len)
{
	uint8_t sig[PROTO_SIG_LEN];
	uintptr_t b = (uintptr_t)body, d;
	int rc;

	if (out == NULL) {
		rc = MX_EINVAL;
		goto out;
	}
	/*
	 * A body inside out's own storage would dangle once the append
	 * grows out; refuse it rather than read freed memory.
	 */
	d = (uintptr_t)out->data;
	if (out->data != NULL && body != NULL && b >= d && b - d < out->cap) {
		rc = MX_EINVAL;
		goto out;
	}
	if ((rc = proto_sign(k, type, body, len, sig)) != 0)
		goto out;
	rc = proto_signed_encode(out, type, body, len, sig);
out:
	return rc;
}

/* proto_keyring_add - append k to the ring; always takes ownership */
int
proto_keyring_add(struct proto_keyring *kr, struct proto_key *k)
{
	int rc;

	if (kr == NULL || k == NULL) {
		rc = MX_EINVAL;
		goto out;
	}
	if (kr->n >= PROTO_KEYRING_MAX) {
		rc = MX_ELIMIT;
		goto out;
	}
	kr->keys[kr->n++] = k;
	k = NULL;
	rc = 0;
out:
	/* ownership passed on every path: a refused key is freed here */
	proto_key_free(k);
	return rc;
}

/* proto_keyring_free - free every key and empty the ring */
void
proto_keyring_free(struct proto_keyring *kr)
{
	size_t i;

	if (kr == NULL)
		return;
	for (i = 0; i < kr->n && i < PROTO_KEYRING_MAX; i++) {
		proto_key_free(kr->keys[i]);
		kr->keys[i] = NULL;
	}
	kr->n = 0;
}

/* proto_keyring_open - split a signed payload, verify against the ring */
int
proto_keyring_open(const struct proto_keyring *kr, const uint8_t *buf,
    size_t len, unsigned *type, struct proto_str *body, size_t *which)
{
	struct proto_str b, sig;
	uint8_t *msg = NULL;
	size_t msglen = 0, i;
	unsigned t;
	int rc;

	if (kr == NULL || buf == NULL || type == NULL || body == NULL) {
		rc = MX_EINVAL;
		goto out;
	}
	if ((rc = proto_signed_decode(buf, len, &t, &b, &sig)) != 0)
		goto out;
	if (proto_sign_input(t, b.p, b.len, &msg, &msglen) != 0) {
		rc = MX_ESIG;
		goto out;
	}
	rc = MX_ESIG;
	for (i = 0; i < kr->n && i < PROTO_KEYRING_MAX; i++) {
		if (proto_verify_input(
		        kr->keys[i], msg, msglen, sig.p, sig.len) == 0) {
			rc = 0;
			break;
		}
	}
	if (rc != 0)
		goto out;
	*type = t;
	*body = b;
	if (which != NULL)
		*which = i;
out:
	mx_free(msg);
	return rc;
}
