/*
 * proto_sign.h - Ed25519 signing of update batches, snapshot chunks and
 * feed submissions (OpenSSL EVP)
 *
 * The signature covers the domain-separation prefix "MXS1", one byte of
 * message type, and the body bytes exactly as encoded:
 *     sig = Ed25519(key, "MXS1" || type || body)
 * so a signature made for one message type can never pass for another.
 * Keys are PEM files: PKCS#8 private keys, SubjectPublicKeyInfo public
 * keys, as `openssl genpkey -algorithm ed25519` writes them.
 * Trust: signatures and bodies come from the wire; key files from the
 * operator. A verify failure is MX_ESIG, never a crash.
 */
#ifndef PROTO_SIGN_H
#define PROTO_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/mx_buf.h"
#include "proto/proto_msg.h"

#define PROTO_PUBKEY_LEN 32  /* raw Ed25519 public key bytes */
#define PROTO_KEYRING_MAX 16 /* trusted keys one program holds */

struct proto_key; /* an Ed25519 key, private or public only */

/* proto_key_generate - a new private key; caller frees with proto_key_free */
int proto_key_generate(struct proto_key **out);
/*
 * proto_key_load_private / proto_key_load_public - read a PEM file
 * Returns 0, MX_EIO (unreadable) or MX_EKEY (not an Ed25519 key of that
 * kind). A private key file also yields the public half.
 */
int proto_key_load_private(const char *path, struct proto_key **out);
int proto_key_load_public(const char *path, struct proto_key **out);
/* proto_key_write_private (mode 0600) / _public (0644): PEM to path */
int proto_key_write_private(const struct proto_key *k, const char *path);
int proto_key_write_public(const struct proto_key *k, const char *path);
/* proto_key_public_raw - the 32 raw public bytes */
int proto_key_public_raw(
    const struct proto_key *k, uint8_t out[PROTO_PUBKEY_LEN]);
/* proto_key_from_public_raw - a public key from 32 raw bytes */
int proto_key_from_public_raw(
    const uint8_t raw[PROTO_PUBKEY_LEN], struct proto_key **out);
/* proto_key_free - release; NULL does nothing */
void proto_key_free(struct proto_key *k);

/*
 * proto_sign - sign body for a message type with a private key
 * Returns 0 or MX_EKEY (public-only key) / MX_EIO (OpenSSL failure).
 */
int proto_sign(const struct proto_key *k, unsigned type, const uint8_t *body,
    size_t len, uint8_t sig[PROTO_SIG_LEN]);
/*
 * proto_verify - check sig over body for a message type
 * Returns 0, MX_ESIG (does not verify, or siglen != PROTO_SIG_LEN) or
 * MX_EKEY.
 */
int proto_verify(const struct proto_key *k, unsigned type, const uint8_t *body,
    size_t len, const uint8_t *sig, size_t siglen);

/*
 * proto_sign_message - sign body and append the signed envelope
 * [version, type, body, sig] to out. Returns as proto_sign or
 * proto_signed_encode.
 */
int proto_sign_message(struct mx_buf *out, const struct proto_key *k,
    unsigned type, const uint8_t *body, size_t len);

/* a set of trusted public keys (hubs for an edge, feeds for a hub) */
struct proto_keyring {
	size_t n;
	struct proto_key *keys[PROTO_KEYRING_MAX]; /* owned */
};

/* proto_keyring_add - takes ownership of k; MX_ELIMIT when full */
int proto_keyring_add(struct proto_keyring *kr, struct proto_key *k);
/* proto_keyring_free - free every key; the ring is empty afterwards */
void proto_keyring_free(struct proto_keyring *kr);
/*
 * proto_keyring_open - split a signed payload and verify it against any
 * key of the ring. On success *type, *body (a view into buf) and, when
 * which is not NULL, the index of the verifying key are set.
 * Returns 0, a proto_signed_decode error, or MX_ESIG.
 */
int proto_keyring_open(const struct proto_keyring *kr, const uint8_t *buf,
    size_t len, unsigned *type, struct proto_str *body, size_t *which);

#endif /* PROTO_SIGN_H */
