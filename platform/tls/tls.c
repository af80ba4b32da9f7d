/* mote's TLS layer over mbedTLS 3.x: see tls.h for the contract. */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/driver.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/error.h"
#include "mbedtls/net_sockets.h" /* MBEDTLS_ERR_NET_* codes only */
#include "mbedtls/pk.h"
#include "mbedtls/platform.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

struct mote_tls {
  mbedtls_ssl_context ssl;
  struct mote_tls_io io;
  size_t heap_now, heap_peak;
  uint8_t notified; /* close_notify queued */
  uint32_t vhost;   /* whose configuration serves it (MOTE_VHOST_ANY: the port's) */
  char sni[64];
};

/* ---- counting allocator --------------------------------------------------
 * Every block carries a header naming the connection it is charged to (the
 * one whose call was running when it was allocated; NULL: shared state), so
 * a free charges the same owner whichever call makes it. */

union hdr {
  struct {
    struct mote_tls *owner;
    size_t size;
  } h;
  max_align_t align;
};

static struct mote_tls *charge; /* the connection whose mbedTLS call is running */
static size_t shared_now, shared_peak;

static void account(struct mote_tls *owner, size_t size, int add) {
  size_t *now = owner ? &owner->heap_now : &shared_now, *peak = owner ? &owner->heap_peak : &shared_peak;
  if (add) {
    *now += size;
    if (*now > *peak) *peak = *now;
  } else {
    *now -= size;
  }
}

static void *count_calloc(size_t n, size_t size) {
  if (size && n > (SIZE_MAX - sizeof(union hdr)) / size) return NULL;
  size_t bytes = n * size;
  union hdr *h = calloc(1, sizeof *h + bytes);
  if (!h) return NULL;
  h->h.owner = charge;
  h->h.size = bytes;
  account(charge, bytes, 1);
  return h + 1;
}

static void count_free(void *p) {
  if (!p) return;
  union hdr *h = (union hdr *)p - 1;
  account(h->h.owner, h->h.size, 0);
  free(h);
}

#define CHARGE(t) struct mote_tls *saved_charge_ = charge; charge = (t)
#define UNCHARGE() charge = saved_charge_

/* ---- shared state ------------------------------------------------------- */

static int inited, cli_ready;
static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

struct mote_tls_server {
  mbedtls_ssl_config conf;
  mbedtls_x509_crt crt[MOTE_TLS_MAX_CERTS];
  mbedtls_pk_context key[MOTE_TLS_MAX_CERTS];
  uint32_t ncerts;
  uint32_t vhost; /* the default's (MOTE_VHOST_ANY: the port's own settings) */
  struct sni_entry {
    char names[128]; /* NUL-separated, ends with an empty name */
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    mbedtls_x509_crt *ca; /* client CA of this vhost, or NULL (allocated: most entries have none) */
    uint32_t vhost;
  } sni[MOTE_TLS_MAX_SNI];
  uint32_t nsni;
  mbedtls_x509_crt client_ca;
  int has_client_ca;
  int suites[64];
};
static uint32_t n_servers; /* the random generator lives while any does */
static const char *alpn[] = {"http/1.1", NULL};

static mbedtls_ssl_config cli_conf;
static mbedtls_x509_crt cli_ca, cli_crt;
static mbedtls_pk_context cli_key;

const char *mote_tls_strerror(int err, char *buf, size_t cap) {
  if (err == MOTE_TLS_EOF) snprintf(buf, cap, "peer closed the session");
  else if (err == MOTE_TLS_WANT_READ || err == MOTE_TLS_WANT_WRITE) snprintf(buf, cap, "would block");
  else if (err == MOTE_TLS_ERR_IO) snprintf(buf, cap, "socket error");
  else if (err == MOTE_TLS_ERR_TRUNCATED) snprintf(buf, cap, "record truncated: the peer closed in the middle of a TLS record");
  else {
    char t[160];
    mbedtls_strerror(err, t, sizeof t);
    snprintf(buf, cap, "%s (-0x%04x)", t, (unsigned)-err);
  }
  return buf;
}

static int entropy_source(void *data, unsigned char *out, size_t len, size_t *olen) {
  (void)data;
  if (mote_tls_port_entropy(out, len) < 0) return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
  *olen = len;
  return 0;
}

static int global_init(void) {
  if (inited) return 0;
  mbedtls_platform_set_calloc_free(count_calloc, count_free);
#if defined(MBEDTLS_PSA_CRYPTO_C)
  psa_status_t ps = psa_crypto_init(); /* TLS 1.3's key schedule runs on PSA */
  if (ps != PSA_SUCCESS) {
    mote_err("tls: psa_crypto_init failed (%d)", (int)ps);
    return -1;
  }
#endif
  mbedtls_entropy_init(&entropy);
  mbedtls_entropy_add_source(&entropy, entropy_source, NULL, 32, MBEDTLS_ENTROPY_SOURCE_STRONG);
  mbedtls_ctr_drbg_init(&drbg);
  static const unsigned char pers[] = "mote-tls";
  int r = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, pers, sizeof pers - 1);
  if (r != 0) {
    char e[200];
    mote_err("tls: random generator: %s", mote_tls_strerror(r, e, sizeof e));
    return -1;
  }
  inited = 1;
  return 0;
}

/* A PEM certificate chain and its key, read through the port's file ops. */
static int load_certkey(const struct mote_tls_certkey *ck, mbedtls_x509_crt *crt, mbedtls_pk_context *key) {
  char e[200];
  uint8_t *data;
  size_t len;
  mbedtls_x509_crt_init(crt);
  mbedtls_pk_init(key);
  if (!ck->cert || !ck->key) {
    mote_err("tls: a certificate needs both a certificate file and a key file");
    return -1;
  }
  if (mote_tls_port_read_file(ck->cert, &data, &len) < 0) return -1; /* logged by the port */
  int r = mbedtls_x509_crt_parse(crt, data, len + 1);                 /* PEM: the length counts the NUL */
  free(data);
  if (r != 0) {
    mote_err("tls: certificate %s: %s", ck->cert, mote_tls_strerror(r, e, sizeof e));
    return -1;
  }
  if (mote_tls_port_read_file(ck->key, &data, &len) < 0) return -1;
  r = mbedtls_pk_parse_key(key, data, len + 1, NULL, 0, mbedtls_ctr_drbg_random, &drbg);
  mbedtls_platform_zeroize(data, len);
  free(data);
  if (r != 0) {
    mote_err("tls: key %s: %s", ck->key, mote_tls_strerror(r, e, sizeof e));
    return -1;
  }
  r = mbedtls_pk_check_pair(&crt->pk, key, mbedtls_ctr_drbg_random, &drbg);
  if (r != 0) {
    mote_err("tls: key %s does not belong to certificate %s", ck->key, ck->cert);
    return -1;
  }
  return 0;
}

/* RFC 6066 3: host names compare case-insensitively; "*.example.com" covers
 * one label. */
static int name_matches(const char *pattern, const char *name, size_t len) {
  if (pattern[0] == '*' && pattern[1] == '.') {
    const char *dot = memchr(name, '.', len);
    if (!dot || dot == name) return 0;
    size_t rest = len - (size_t)(dot - name);
    return strlen(pattern + 1) == rest && strncasecmp(pattern + 1, dot, rest) == 0;
  }
  return strlen(pattern) == len && strncasecmp(pattern, name, len) == 0;
}

static int entry_matches(const struct sni_entry *e, const char *name, size_t len) {
  for (const char *n = e->names; *n; n += strlen(n) + 1)
    if (name_matches(n, name, len)) return 1;
  return 0;
}

/* The client's server name picks an entry (a vhost sharing the listener, or
 * a --tls-sni certificate): its certificate, and its client-certificate
 * rule, which may differ from the default's either way. */
static int on_sni(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len) {
  struct mote_tls_server *srv = p;
  struct mote_tls *t = mbedtls_ssl_get_user_data_p(ssl);
  if (t) {
    size_t n = len < sizeof t->sni - 1 ? len : sizeof t->sni - 1;
    memcpy(t->sni, name, n);
    t->sni[n] = 0;
  }
  for (uint32_t i = 0; i < srv->nsni; i++) {
    struct sni_entry *e = &srv->sni[i];
    if (!entry_matches(e, (const char *)name, len)) continue;
    int r = mbedtls_ssl_set_hs_own_cert(ssl, &e->crt, &e->key);
    if (r != 0) return r;
    if (e->ca) {
      mbedtls_ssl_set_hs_ca_chain(ssl, e->ca, NULL);
      mbedtls_ssl_set_hs_authmode(ssl, MBEDTLS_SSL_VERIFY_REQUIRED);
    } else if (srv->has_client_ca) {
      mbedtls_ssl_set_hs_authmode(ssl, MBEDTLS_SSL_VERIFY_NONE);
    }
    if (t) t->vhost = e->vhost;
    return 0;
  }
  return 0; /* an unknown name gets the default certificates (lws: the default vhost) */
}

/* ssl_cipher_list -> zero-terminated suite ids. */
/* strict: an unknown name is an error (the user's list); else it is skipped
 * (the built-in default names suites a smaller build lacks). */
static int parse_suites(int *suites, size_t cap, const char *list, int strict, int *has12, int *has13) {
  size_t n = 0;
  *has12 = *has13 = 0;
  const char *p = list;
  while (*p) {
    while (*p == ':' || *p == ',' || *p == ' ') p++;
    if (!*p) break;
    const char *end = p;
    while (*end && *end != ':' && *end != ',' && *end != ' ') end++;
    char name[96], alt[104];
    size_t len = (size_t)(end - p);
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, p, len);
    name[len] = 0;
    for (char *c = name; *c; c++)
      if (*c == '_') *c = '-';
    /* IANA TLS 1.3 names (TLS_AES_128_GCM_SHA256) are TLS1-3-... in mbedTLS */
    snprintf(alt, sizeof alt, "TLS1-3-%s", strncmp(name, "TLS-", 4) == 0 ? name + 4 : name);
    int id = mbedtls_ssl_get_ciphersuite_id(name);
    int v13 = strncmp(name, "TLS1-3-", 7) == 0;
    if (id == 0) {
      id = mbedtls_ssl_get_ciphersuite_id(alt);
      v13 = id != 0;
    }
    if (id == 0 && !strict) {
      p = end;
      continue;
    }
    if (id == 0) {
      mote_err("tls: cipher list: unknown or not built in: '%.*s'", (int)(end - p), p);
      return -1;
    }
    if (n + 1 >= cap) {
      mote_err("tls: cipher list: more than %zu suites", cap - 1);
      return -1;
    }
    suites[n++] = id;
    if (v13) *has13 = 1;
    else *has12 = 1;
    p = end;
  }
  suites[n] = 0;
  if (n == 0) {
    mote_err("tls: cipher list is empty");
    return -1;
  }
  return 0;
}

struct mote_tls_server *mote_tls_server_create(const struct mote_tls_server_opts *o) {
  char e[200];
  if (global_init() < 0) return NULL;
  if (o->ncerts == 0 || o->ncerts > MOTE_TLS_MAX_CERTS || o->nsni > MOTE_TLS_MAX_SNI) {
    mote_err("tls: need 1..%d default certificates and at most %d SNI names", MOTE_TLS_MAX_CERTS, MOTE_TLS_MAX_SNI);
    return NULL;
  }
  struct mote_tls_server *srv = mbedtls_calloc(1, sizeof *srv); /* shared state: counted apart */
  if (!srv) {
    mote_err("tls: no memory for a server configuration");
    return NULL;
  }
  n_servers++;
  /* everything initialised first, so that destroy() works from any failure */
  mbedtls_ssl_config_init(&srv->conf);
  srv->vhost = MOTE_VHOST_ANY;
  for (uint32_t i = 0; i < MOTE_TLS_MAX_CERTS; i++) {
    mbedtls_x509_crt_init(&srv->crt[i]);
    mbedtls_pk_init(&srv->key[i]);
  }
  for (uint32_t i = 0; i < MOTE_TLS_MAX_SNI; i++) {
    mbedtls_x509_crt_init(&srv->sni[i].crt);
    mbedtls_pk_init(&srv->sni[i].key);
  }
  mbedtls_x509_crt_init(&srv->client_ca);
  int r = mbedtls_ssl_config_defaults(&srv->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (r != 0) {
    mote_err("tls: server configuration: %s", mote_tls_strerror(r, e, sizeof e));
    goto fail;
  }
  mbedtls_ssl_conf_rng(&srv->conf, mbedtls_ctr_drbg_random, &drbg);
  for (uint32_t i = 0; i < o->ncerts; i++) {
    if (load_certkey(&o->certs[i], &srv->crt[i], &srv->key[i]) < 0) goto fail;
    srv->ncerts = i + 1;
    r = mbedtls_ssl_conf_own_cert(&srv->conf, &srv->crt[i], &srv->key[i]);
    if (r != 0) {
      mote_err("tls: certificate %s: %s", o->certs[i].cert, mote_tls_strerror(r, e, sizeof e));
      goto fail;
    }
  }
  for (uint32_t i = 0; i < o->nsni; i++) {
    struct sni_entry *e = &srv->sni[i];
    if (!o->sni[i].name || !*o->sni[i].name || strlen(o->sni[i].name) + 2 > sizeof e->names) {
      mote_err("tls: SNI entry %u needs a host name", (unsigned)i);
      goto fail;
    }
    memset(e->names, 0, sizeof e->names);
    memcpy(e->names, o->sni[i].name, strlen(o->sni[i].name));
    e->vhost = MOTE_VHOST_ANY;
    if (load_certkey(&o->sni[i].ck, &e->crt, &e->key) < 0) goto fail;
    srv->nsni = i + 1;
  }
  if (srv->nsni) mbedtls_ssl_conf_sni(&srv->conf, on_sni, srv);
  int v13 = o->tls13;
  /* Default order (the server's preference decides in mbedTLS): ECDSA
   * before RSA (about half the handshake CPU, see docs/tls.md), AES-GCM
   * (AES-NI) before ChaCha20. Suites a build lacks are skipped. */
  static const char default_suites[] =
      "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:"
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:"
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
  int has12, has13;
  const char *list = o->ciphers && *o->ciphers ? o->ciphers : NULL;
  if (parse_suites(srv->suites, sizeof srv->suites / sizeof srv->suites[0], list ? list : default_suites, list != NULL, &has12, &has13) < 0)
    goto fail;
  mbedtls_ssl_conf_ciphersuites(&srv->conf, srv->suites);
  if (!has12 && list) v13 = 1;
  if (v13 && !has13) {
    mote_err("tls: TLS 1.3 asked for, but the cipher list has no TLS 1.3 suite");
    goto fail;
  }
  /* one version: see tls13 in tls.h */
  uint16_t v = v13 ? MBEDTLS_SSL_VERSION_TLS1_3 : MBEDTLS_SSL_VERSION_TLS1_2;
  mbedtls_ssl_conf_min_tls_version(&srv->conf, v);
  mbedtls_ssl_conf_max_tls_version(&srv->conf, v);
  if (o->client_ca) {
    uint8_t *data;
    size_t len;
    if (mote_tls_port_read_file(o->client_ca, &data, &len) < 0) goto fail;
    r = mbedtls_x509_crt_parse(&srv->client_ca, data, len + 1);
    free(data);
    if (r != 0) {
      mote_err("tls: client CA %s: %s", o->client_ca, mote_tls_strerror(r, e, sizeof e));
      goto fail;
    }
    mbedtls_ssl_conf_ca_chain(&srv->conf, &srv->client_ca, NULL);
    mbedtls_ssl_conf_authmode(&srv->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    srv->has_client_ca = 1;
  } else {
    mbedtls_ssl_conf_authmode(&srv->conf, MBEDTLS_SSL_VERIFY_NONE);
  }
  r = mbedtls_ssl_conf_alpn_protocols(&srv->conf, alpn);
  if (r != 0) {
    mote_err("tls: ALPN: %s", mote_tls_strerror(r, e, sizeof e));
    goto fail;
  }
  return srv;
fail:
  mote_tls_server_destroy(srv);
  return NULL;
}

void mote_tls_server_destroy(struct mote_tls_server *srv) {
  if (!srv) return;
  mbedtls_ssl_config_free(&srv->conf);
  for (uint32_t i = 0; i < MOTE_TLS_MAX_CERTS; i++) {
    mbedtls_x509_crt_free(&srv->crt[i]);
    mbedtls_pk_free(&srv->key[i]);
  }
  for (uint32_t i = 0; i < MOTE_TLS_MAX_SNI; i++) {
    mbedtls_x509_crt_free(&srv->sni[i].crt);
    mbedtls_pk_free(&srv->sni[i].key);
    if (srv->sni[i].ca) {
      mbedtls_x509_crt_free(srv->sni[i].ca);
      mbedtls_free(srv->sni[i].ca);
    }
  }
  mbedtls_x509_crt_free(&srv->client_ca);
  mbedtls_free(srv);
  n_servers--;
}

int mote_tls_client_init(const char *ca_file, const struct mote_tls_certkey *own) {
  char e[200];
  if (global_init() < 0) return -1;
  mbedtls_ssl_config_init(&cli_conf);
  mbedtls_x509_crt_init(&cli_ca);
  int r = mbedtls_ssl_config_defaults(&cli_conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (r != 0) {
    mote_err("tls: client configuration: %s", mote_tls_strerror(r, e, sizeof e));
    return -1;
  }
  mbedtls_ssl_conf_rng(&cli_conf, mbedtls_ctr_drbg_random, &drbg);
  uint8_t *data;
  size_t len;
  if (!ca_file || mote_tls_port_read_file(ca_file, &data, &len) < 0) {
    mote_err("tls: the client role needs a CA file");
    return -1;
  }
  r = mbedtls_x509_crt_parse(&cli_ca, data, len + 1);
  free(data);
  if (r != 0) {
    mote_err("tls: CA %s: %s", ca_file, mote_tls_strerror(r, e, sizeof e));
    return -1;
  }
  mbedtls_ssl_conf_ca_chain(&cli_conf, &cli_ca, NULL);
  mbedtls_ssl_conf_authmode(&cli_conf, MBEDTLS_SSL_VERIFY_REQUIRED); /* RFC 6125: chain and name */
  if (own) {
    if (load_certkey(own, &cli_crt, &cli_key) < 0) return -1;
    mbedtls_ssl_conf_own_cert(&cli_conf, &cli_crt, &cli_key);
  }
  mbedtls_ssl_conf_alpn_protocols(&cli_conf, alpn);
  cli_ready = 1;
  return 0;
}

/* The shared random generator (and PSA) go once no server configuration
 * remains; destroy those first. */
void mote_tls_global_free(void) {
  if (cli_ready) {
    mbedtls_ssl_config_free(&cli_conf);
    mbedtls_x509_crt_free(&cli_ca);
    mbedtls_x509_crt_free(&cli_crt);
    mbedtls_pk_free(&cli_key);
    cli_ready = 0;
  }
  if (inited && n_servers == 0) {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
#if defined(MBEDTLS_PSA_CRYPTO_C)
    mbedtls_psa_crypto_free();
#endif
    inited = 0;
  }
}

/* ---- sessions ----------------------------------------------------------- */

static int bio_send(void *p, const unsigned char *buf, size_t len) {
  struct mote_tls *t = p;
  int r = t->io.send(t->io.ctx, buf, len);
  if (r >= 0) return r;
  return r == MOTE_TLS_IO_AGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *p, unsigned char *buf, size_t len) {
  struct mote_tls *t = p;
  int r = t->io.recv(t->io.ctx, buf, len);
  if (r >= 0) return r; /* 0: EOF, which mbedTLS reports as such */
  return r == MOTE_TLS_IO_AGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
}

static struct mote_tls *session_new(const struct mote_tls_io *io, mbedtls_ssl_config *conf) {
  struct mote_tls *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->io = *io;
  t->heap_now = t->heap_peak = sizeof *t;
  CHARGE(t);
  mbedtls_ssl_init(&t->ssl);
  int r = mbedtls_ssl_setup(&t->ssl, conf); /* allocates the record buffers */
  UNCHARGE();
  if (r != 0) {
    char e[200];
    mote_err("tls: session: %s", mote_tls_strerror(r, e, sizeof e));
    mote_tls_free(t);
    return NULL;
  }
  mbedtls_ssl_set_user_data_p(&t->ssl, t);
  mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
  return t;
}

struct mote_tls *mote_tls_server_new(struct mote_tls_server *srv, const struct mote_tls_io *io) {
  if (!srv) return NULL;
  struct mote_tls *t = session_new(io, &srv->conf);
  if (t) t->vhost = srv->vhost; /* until the SNI callback picks another */
  return t;
}

uint32_t mote_tls_vhost(const struct mote_tls *t) { return t->vhost; }

struct mote_tls *mote_tls_client_new(const struct mote_tls_io *io, const char *host) {
  if (!cli_ready) return NULL;
  struct mote_tls *t = session_new(io, &cli_conf);
  if (!t) return NULL;
  CHARGE(t);
  int r = mbedtls_ssl_set_hostname(&t->ssl, host); /* SNI, and the name the certificate must carry */
  UNCHARGE();
  if (r != 0) {
    mote_tls_free(t);
    return NULL;
  }
  snprintf(t->sni, sizeof t->sni, "%s", host);
  return t;
}

void mote_tls_free(struct mote_tls *t) {
  if (!t) return;
  CHARGE(t);
  mbedtls_ssl_free(&t->ssl);
  UNCHARGE();
  free(t);
}

static int map_(int r);

/* An EOF with part of a record read is a truncation (RFC 8446 6.1: data may
 * have been cut off), not an orderly end: named apart for the log. */
static int map_eof(const struct mote_tls *t, int r) {
  if (r == MBEDTLS_ERR_SSL_CONN_EOF && t->ssl.MBEDTLS_PRIVATE(in_left) > 0) return MOTE_TLS_ERR_TRUNCATED;
  return map_(r);
}
#define map(r) map_eof(t, (r))

static int map_(int r) {
  if (r >= 0) return r;
  switch (r) {
    case MBEDTLS_ERR_SSL_WANT_READ: return MOTE_TLS_WANT_READ;
    case MBEDTLS_ERR_SSL_WANT_WRITE: return MOTE_TLS_WANT_WRITE;
    case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
    case MBEDTLS_ERR_SSL_CONN_EOF: return MOTE_TLS_EOF;
    case MBEDTLS_ERR_NET_SEND_FAILED:
    case MBEDTLS_ERR_NET_RECV_FAILED: return MOTE_TLS_ERR_IO;
    default: return r;
  }
}

int mote_tls_handshake(struct mote_tls *t) {
  CHARGE(t);
  int r = mbedtls_ssl_handshake(&t->ssl);
  UNCHARGE();
  return map(r);
}

int mote_tls_read(struct mote_tls *t, uint8_t *buf, size_t len) {
  if (len > INT32_MAX) len = INT32_MAX;
  int r;
  CHARGE(t);
  do {
    r = mbedtls_ssl_read(&t->ssl, buf, len);
    /* a client may be handed session tickets after the handshake: not data */
  } while (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET);
  UNCHARGE();
  if (r == 0) return t->ssl.MBEDTLS_PRIVATE(in_left) > 0 ? MOTE_TLS_ERR_TRUNCATED : MOTE_TLS_EOF; /* no close_notify */
  return map(r);
}

size_t mote_tls_pending(const struct mote_tls *t) { return mbedtls_ssl_get_bytes_avail(&t->ssl); }

int mote_tls_want_write(const struct mote_tls *t) { return t->ssl.MBEDTLS_PRIVATE(out_left) != 0; }

/* mbedTLS's write contract: after WANT_WRITE the record is encrypted and
 * held (out_left > 0) and the next mbedtls_ssl_write() only flushes it,
 * whatever its arguments. So a held record is flushed with a zero-length
 * write, and new data is only handed over once nothing is held. */
int mote_tls_flush(struct mote_tls *t) {
  if (t->ssl.MBEDTLS_PRIVATE(out_left) == 0) return 0;
  static const uint8_t none[1];
  CHARGE(t);
  int r = mbedtls_ssl_write(&t->ssl, none, 0);
  UNCHARGE();
  return r >= 0 ? 0 : map(r);
}

int mote_tls_write(struct mote_tls *t, const uint8_t *buf, size_t len) {
  int r = mote_tls_flush(t);
  if (r == MOTE_TLS_WANT_WRITE) return 0;
  if (r < 0) return r;
  if (len > INT32_MAX) len = INT32_MAX;
  size_t off = 0;
  CHARGE(t);
  while (off < len) {
    int max = mbedtls_ssl_get_max_out_record_payload(&t->ssl);
    if (max <= 0) {
      r = max < 0 ? max : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
      break;
    }
    size_t chunk = len - off < (size_t)max ? len - off : (size_t)max;
    r = mbedtls_ssl_write(&t->ssl, buf + off, chunk);
    if (r > 0) {
      off += (size_t)r;
      continue;
    }
    if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
      if (t->ssl.MBEDTLS_PRIVATE(out_left) != 0) off += chunk; /* encrypted and held: taken */
      r = 0;
    }
    break;
  }
  UNCHARGE();
  if (r < 0 && off == 0) return map(r);
  return (int)off; /* an error after some bytes were taken shows at the next call */
}

int mote_tls_close_notify(struct mote_tls *t) {
  int r = mote_tls_flush(t);
  if (r != 0) return r;
  if (t->notified) return 0;
  t->notified = 1;
  CHARGE(t);
  r = mbedtls_ssl_close_notify(&t->ssl); /* on WANT_WRITE the alert is held, flushed by the calls above */
  UNCHARGE();
  return map(r);
}

const char *mote_tls_version(const struct mote_tls *t) { return mbedtls_ssl_get_version(&t->ssl); }
const char *mote_tls_suite(const struct mote_tls *t) { return mbedtls_ssl_get_ciphersuite(&t->ssl); }
const char *mote_tls_sni_name(const struct mote_tls *t) { return t->sni; }

void mote_tls_verify_info(const struct mote_tls *t, char *buf, size_t cap) {
  buf[0] = 0;
  uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
  if (flags == 0 || flags == (uint32_t)-1) return;
  int n = mbedtls_x509_crt_verify_info(buf, cap, "", flags);
  while (n > 0 && (buf[n - 1] == '\n')) buf[--n] = 0;
  for (int i = 0; i < n; i++)
    if (buf[i] == '\n') buf[i] = ';';
}

void mote_tls_heap(const struct mote_tls *t, size_t *now, size_t *peak) {
  *now = t->heap_now;
  *peak = t->heap_peak;
}

size_t mote_tls_heap_shared(void) { return shared_now; }
size_t mote_tls_session_size(void) { return sizeof(struct mote_tls); }

/* One sock_tls options block: the strings copied out of module memory
 * (NUL-terminated), names packed into `names`. */
struct vhost_opts {
  char cert[256], key[256], ciphers[512], client_ca[256];
  char names[128]; /* NUL-separated, ends with an empty name */
};

static int parse_opts(uint32_t listener, uint32_t vhost, const uint8_t *p, uint32_t len, struct vhost_opts *v) {
  memset(v, 0, sizeof *v);
  size_t names_used = 0;
  uint32_t at = 0;
  while (at < len) {
    if (len - at < 3) goto bad;
    uint32_t kind = p[at], n = (uint32_t)p[at + 1] | (uint32_t)p[at + 2] << 8;
    at += 3;
    if (n > len - at) goto bad;
    char *dst = NULL;
    size_t cap = 0;
    switch (kind) {
      case MOTE_TLS_OPT_CERT: dst = v->cert, cap = sizeof v->cert; break;
      case MOTE_TLS_OPT_KEY: dst = v->key, cap = sizeof v->key; break;
      case MOTE_TLS_OPT_CIPHERS: dst = v->ciphers, cap = sizeof v->ciphers; break;
      case MOTE_TLS_OPT_CLIENT_CA: dst = v->client_ca, cap = sizeof v->client_ca; break;
      case MOTE_TLS_OPT_NAME:
        if (n == 0 || memchr(p + at, 0, n) || names_used + n + 2 > sizeof v->names) {
          mote_err("sock_tls: listener %u, vhost %u: host names empty or over %u bytes in all", (unsigned)listener,
                   (unsigned)vhost, (unsigned)sizeof v->names - 1);
          return -1;
        }
        memcpy(v->names + names_used, p + at, n);
        names_used += n + 1;
        break;
      default:
        mote_err("sock_tls: listener %u, vhost %u: unknown option kind %u", (unsigned)listener, (unsigned)vhost, (unsigned)kind);
        return -1;
    }
    if (dst) {
      if (n >= cap || memchr(p + at, 0, n)) {
        mote_err("sock_tls: listener %u, vhost %u: option %u is %u bytes (under %u, no NUL)", (unsigned)listener,
                 (unsigned)vhost, (unsigned)kind, (unsigned)n, (unsigned)cap);
        return -1;
      }
      memcpy(dst, p + at, n);
      dst[n] = 0;
    }
    at += n;
  }
  if (!v->cert[0] || !v->key[0]) {
    mote_err("sock_tls: listener %u, vhost %u: certificate and key file names needed", (unsigned)listener, (unsigned)vhost);
    return -1;
  }
  return 0;
bad:
  mote_err("sock_tls: listener %u, vhost %u: options block cut short at byte %u of %u", (unsigned)listener,
           (unsigned)vhost, (unsigned)at, (unsigned)len);
  return -1;
}

/* ---- a listener's TLS (the sock_tls import, shared by every port) ---------- */

void mote_tls_listener_open(struct mote_tls_listener *t, struct mote_tls_server *cmd) {
  t->use = cmd;
  t->fresh = 1;
}

int32_t mote_tls_listener_add(struct mote_tls_listener *t, struct mote_tls_server *cmd, uint32_t listener, uint32_t vhost,
                              const uint8_t *opts, uint32_t opts_len) {
  if (cmd) {
    mote_notice("listener %u: vhost %u's certificate gives way to the command line's TLS settings", (unsigned)listener,
                (unsigned)vhost);
    return 0;
  }
  if (t->fresh) { /* the first vhost on the listener, or a restarted core's: its default */
    mote_tls_server_destroy(t->own);
    t->use = t->own = NULL;
    t->fresh = 0;
  }
  if (mote_tls_server_add(&t->own, listener, vhost, opts, opts_len) < 0) return -EINVAL;
  t->use = t->own;
  mote_notice("listener %u: TLS for vhost %u", (unsigned)listener, (unsigned)vhost);
  return 0;
}

void mote_tls_listener_drop(struct mote_tls_listener *t, struct mote_tls_server *cmd) {
  mote_tls_server_destroy(t->own);
  t->own = NULL;
  t->use = cmd;
}

int mote_tls_server_add(struct mote_tls_server **srvp, uint32_t listener, uint32_t vhost, const uint8_t *opts,
                        uint32_t len) {
  static struct vhost_opts v; /* big: not on a board's stack */
  char e[200];
  if (parse_opts(listener, vhost, opts, len, &v) < 0) return -1;
  struct mote_tls_server *srv = *srvp;
  if (!srv) { /* the listener's default */
    struct mote_tls_server_opts o = {.ncerts = 1, .ciphers = v.ciphers[0] ? v.ciphers : NULL,
                                     .client_ca = v.client_ca[0] ? v.client_ca : NULL};
    o.certs[0] = (struct mote_tls_certkey){v.cert, v.key};
    srv = mote_tls_server_create(&o); /* logs which file or name is wrong */
    if (!srv) return -1;
    srv->vhost = vhost;
    *srvp = srv;
    return 0;
  }
  /* a vhost sharing the listener, chosen by its names */
  if (!v.names[0]) {
    mote_err("sock_tls: listener %u, vhost %u: a vhost sharing a port needs a host name", (unsigned)listener, (unsigned)vhost);
    return -1;
  }
  if (srv->nsni == MOTE_TLS_MAX_SNI) {
    mote_err("sock_tls: listener %u, vhost %u: more than %d names or vhosts on one port (MOTE_TLS_MAX_SNI)",
             (unsigned)listener, (unsigned)vhost, MOTE_TLS_MAX_SNI);
    return -1;
  }
  if (v.ciphers[0]) { /* the suite is chosen before the server name is known: one list per port */
    int suites[64], has12, has13;
    if (parse_suites(suites, sizeof suites / sizeof suites[0], v.ciphers, 1, &has12, &has13) < 0) return -1;
    size_t n = 0;
    while (suites[n] && suites[n] == srv->suites[n]) n++;
    if (suites[n] != 0 || srv->suites[n] != 0) {
      mote_err("sock_tls: listener %u, vhost %u: its cipher list differs from the port's default vhost's; vhosts "
               "sharing a port share one list (give it none, or the same)", (unsigned)listener, (unsigned)vhost);
      return -1;
    }
  }
  struct sni_entry *en = &srv->sni[srv->nsni];
  memcpy(en->names, v.names, sizeof en->names);
  en->vhost = vhost;
  struct mote_tls_certkey ck = {v.cert, v.key};
  CHARGE(NULL);
  int r = load_certkey(&ck, &en->crt, &en->key);
  if (r == 0 && v.client_ca[0]) {
    uint8_t *data;
    size_t dlen;
    en->ca = mbedtls_calloc(1, sizeof *en->ca);
    r = en->ca ? mote_tls_port_read_file(v.client_ca, &data, &dlen) : -1;
    if (!en->ca) mote_err("tls: no memory for client CA %s", v.client_ca);
    if (r == 0) {
      mbedtls_x509_crt_init(en->ca);
      int pr = mbedtls_x509_crt_parse(en->ca, data, dlen + 1);
      free(data);
      if (pr != 0) {
        mote_err("tls: client CA %s: %s", v.client_ca, mote_tls_strerror(pr, e, sizeof e));
        r = -1;
      }
    }
  }
  UNCHARGE();
  if (r != 0) { /* the entry stays unused: back to empty */
    mbedtls_x509_crt_free(&en->crt);
    mbedtls_pk_free(&en->key);
    mbedtls_x509_crt_init(&en->crt);
    mbedtls_pk_init(&en->key);
    if (en->ca) {
      mbedtls_x509_crt_free(en->ca);
      mbedtls_free(en->ca);
      en->ca = NULL;
    }
    return -1;
  }
  srv->nsni++;
  mbedtls_ssl_conf_sni(&srv->conf, on_sni, srv);
  return 0;
}
