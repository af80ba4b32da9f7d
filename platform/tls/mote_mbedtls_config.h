/* mote's mbedTLS 3.4 configuration for the Linux simulator
 * (MBEDTLS_CONFIG_FILE; not named mbedtls_config.h, which
 * mbedTLS would find first in its own include folder; every option not defined here is off).
 *
 * Server (and, for the coming client role, client) TLS 1.2 and TLS 1.3:
 *   TLS 1.2: ECDHE-ECDSA and ECDHE-RSA with AES-128/256-GCM and
 *            CHACHA20-POLY1305 (RFC 5289, RFC 7905); no CBC, no RSA key
 *            transport, no static DH: every suite has forward secrecy and AEAD.
 *   TLS 1.3: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
 *            TLS_CHACHA20_POLY1305_SHA256, ephemeral (EC)DHE only (RFC 8446).
 *   Groups: x25519, secp256r1, secp384r1. Certificates: ECDSA and RSA.
 * The boards use mbedtls_config_board.h (smaller: ECDSA P-256 only).
 */
#ifndef MOTE_MBEDTLS_CONFIG_H
#define MOTE_MBEDTLS_CONFIG_H

/* ---- platform ----------------------------------------------------------- */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY /* mbedtls_platform_set_calloc_free: heap counted per connection */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE /* certificate validity dates are checked */

/* ---- randomness --------------------------------------------------------- */
#define MBEDTLS_ENTROPY_C /* getrandom(2) / /dev/urandom */
#define MBEDTLS_CTR_DRBG_C

/* ---- crypto ------------------------------------------------------------- */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AESNI_C
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_MD_C
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_HKDF_C /* TLS 1.3 key schedule (through PSA) */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_HMAC_DRBG_C /* deterministic ECDSA */
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21 /* RSA-PSS: TLS 1.3 signatures with RSA keys */
#define MBEDTLS_PSA_CRYPTO_C /* TLS 1.3 needs PSA */

/* ---- keys and certificates ---------------------------------------------- */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

/* ---- TLS ---------------------------------------------------------------- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE /* required by TLS 1.3 in 3.4 */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET /* RFC 7627 */
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_SESSION_TICKETS /* 3.4 TLS 1.3 server does not build without it; no ticket key is set, so none is issued */
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH /* RFC 6066 (clients that ask get small records) */
/* Not MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH: in 3.4 it shrinks the input buffer
 * after the handshake to min(IN, OUT) when no fragment length was agreed
 * (MBEDTLS_TLS_EXT_ADV_CONTENT_LEN), and a peer's 16 KiB record is then
 * refused ("Bad input parameters"); measured with a 300 KiB wss message. */
/* TLS 1.3 tickets: values the 3.4 code needs defined; mote sets no ticket
 * callbacks, so no ticket is ever issued (no session resumption) */
#define MBEDTLS_SSL_TLS1_3_TICKET_AGE_TOLERANCE 6000
#define MBEDTLS_SSL_TLS1_3_TICKET_NONCE_LENGTH 32
#define MBEDTLS_SSL_TLS1_3_DEFAULT_NEW_SESSION_TICKETS 0
#define MBEDTLS_ERROR_C /* mbedtls_strerror(): log lines name the problem */

/* Record buffers. A server must accept 16 KiB records (RFC 8446 5.1: a peer
 * may send records up to 2^14 bytes unless it agreed to less), so IN stays
 * at the maximum; what the server sends is its own choice, so OUT is 4 KiB
 * (every write is cut into records of at most that). */
#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 4096

#endif
