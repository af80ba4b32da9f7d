/* mote's mbedTLS 3.4 configuration for microcontroller boards
 * (MBEDTLS_CONFIG_FILE of `mote build --board B --tls`): the smallest set
 * that still talks to browsers, curl and OpenSSL, sized for RAM.
 *
 *   TLS 1.2 only (TLS 1.3 in 3.4 needs the PSA crypto core: ~40 KB of flash
 *   and more heap), ECDHE-ECDSA on secp256r1 with AES-128-GCM or
 *   CHACHA20-POLY1305 (RFC 5289, RFC 7905): lws's LWS_SERVER_OPTION_SSL_ECDH
 *   kind of server. Certificates: ECDSA P-256 with SHA-256.
 *
 * RAM per connection is mostly the record buffers: IN must stay 16 KiB (a
 * client may send 2^14-byte records unless it negotiated a smaller maximum
 * fragment length, which browsers and curl do not), OUT is the server's own
 * choice: 1400-byte records, which with their 29 bytes of TLS overhead (header,
 * explicit nonce, tag) fit one TCP segment of the board's MSS (1460). OUT
 * must also hold the largest handshake message the server sends: its
 * Certificate message (an ECDSA leaf is ~500 B; a chain with an
 * intermediate needs a bigger OUT).
 */
#ifndef MOTE_MBEDTLS_CONFIG_BOARD_H
#define MOTE_MBEDTLS_CONFIG_BOARD_H

/* ---- platform ----------------------------------------------------------- */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY /* counted per connection (platform/tls/tls.c) */
#define MBEDTLS_NO_PLATFORM_ENTROPY /* the port's source: mote_tls_port_entropy() */
/* no MBEDTLS_HAVE_TIME_DATE: the board has no calendar, so certificate
 * validity dates are not checked (the chain and the name are) */

#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C

/* ---- crypto ------------------------------------------------------------- */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES /* tables in flash */
#define MBEDTLS_AES_FEWER_TABLES /* 2 KiB instead of 8 KiB of them */
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA224_C /* sha256.c builds both */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_WINDOW_SIZE 2 /* smaller precomputation tables in RAM */
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_ECDSA_DETERMINISTIC
#define MBEDTLS_HMAC_DRBG_C
#define MBEDTLS_MPI_MAX_SIZE 48

/* ---- keys and certificates ---------------------------------------------- */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

/* ---- TLS ---------------------------------------------------------------- */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ALPN
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
#define MBEDTLS_ERROR_C /* log lines name the problem */

#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN 1400

#endif
