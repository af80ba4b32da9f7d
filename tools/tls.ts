// The TLS part of a build, shared by every board: where mbedTLS's source is
// (vendor/mbedtls, fetched by tools/bootstrap.js from the crates.io crate
// mbedtls-sys-auto 3.4.0), mote's configuration headers (platform/tls/), and
// which of mbedTLS's library files a build compiles.
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";

const ROOT = path.resolve(__dirname, "..");
export const MBEDTLS_DIR = path.join(ROOT, "vendor/mbedtls");
export const TLS_DIR = path.join(ROOT, "platform/tls");
/** Test certificates made by tools/bootstrap.js (git-ignored). */
export const TLS_TEST_DIR = path.join(ROOT, "vendor/tls");

/** The library files the Linux configuration (mote_mbedtls_config.h) uses:
 *  every other file of library/ compiles to nothing with it. */
export const MBEDTLS_UNITS = [
  "aes.c", "aesni.c", "asn1parse.c", "asn1write.c", "base64.c", "bignum.c", "bignum_core.c", "bignum_mod.c",
  "bignum_mod_raw.c", "chacha20.c", "chachapoly.c", "cipher.c", "cipher_wrap.c", "constant_time.c", "ctr_drbg.c",
  "ecdh.c", "ecdsa.c", "ecp.c", "ecp_curves.c", "entropy.c", "entropy_poll.c", "error.c", "gcm.c", "hash_info.c",
  "hkdf.c", "hmac_drbg.c", "md.c", "mps_reader.c", "oid.c", "pem.c", "pk.c", "pk_wrap.c", "pkparse.c", "pkwrite.c",
  "platform.c", "platform_util.c", "poly1305.c", "psa_crypto.c", "psa_crypto_aead.c", "psa_crypto_cipher.c",
  "psa_crypto_client.c", "psa_crypto_driver_wrappers.c", "psa_crypto_ecp.c", "psa_crypto_hash.c", "psa_crypto_mac.c",
  "psa_crypto_rsa.c", "psa_crypto_slot_management.c", "psa_util.c", "rsa.c", "rsa_alt_helpers.c", "sha256.c",
  "sha512.c", "ssl_ciphersuites.c", "ssl_client.c", "ssl_msg.c", "ssl_tls.c", "ssl_tls12_client.c",
  "ssl_tls12_server.c", "ssl_tls13_client.c", "ssl_tls13_generic.c", "ssl_tls13_keys.c", "ssl_tls13_server.c",
  "x509.c", "x509_crt.c",
];

let checked = false;

/** Fetches vendor/mbedtls and makes the test certificates when missing
 *  (tools/bootstrap.js tls; checked once per process). */
export function ensureTls(): void {
  if (checked) return;
  checked = true;
  execFileSync(process.execPath, [path.join(ROOT, "tools/bootstrap.js"), "tls"], { stdio: ["ignore", "inherit", "inherit"] });
  for (const u of MBEDTLS_UNITS) {
    if (!fs.existsSync(path.join(MBEDTLS_DIR, "library", u))) throw new Error(`${u} is missing from ${MBEDTLS_DIR} after 'node tools/bootstrap.js tls'`);
  }
}

/** Flags for every unit that includes mbedTLS headers. */
export function tlsIncludeFlags(config = "mote_mbedtls_config.h"): string[] {
  return [`-I${path.join(MBEDTLS_DIR, "include")}`, `-I${TLS_DIR}`, `-DMBEDTLS_CONFIG_FILE="${config}"`];
}

/** Headers the mbedTLS-side units depend on (for rebuild stamps): the
 *  configuration files; mbedTLS's own headers change only with its version,
 *  which the bootstrap stamp pins. */
export function tlsHeaders(configOnly = false): string[] {
  const hs = fs.readdirSync(TLS_DIR).filter((f) => f.endsWith(".h") && (!configOnly || f.includes("mbedtls_config")));
  return [...hs.map((f) => path.join(TLS_DIR, f)).sort(), path.join(MBEDTLS_DIR, ".mote-mbedtls")];
}

/** The firmware's semihosting words that turn TLS on with the test ECDSA
 *  certificate (the board reads the files from the host: platform/qemu-mps2/tls_board.c). */
export function boardTlsWords(): string[] {
  return ["--tls", "--tls-cert", path.join(TLS_TEST_DIR, "ecdsa.crt"), "--tls-key", path.join(TLS_TEST_DIR, "ecdsa.key")];
}

/** mbedTLS's library sources for a build. */
export function mbedtlsUnits(): string[] {
  return MBEDTLS_UNITS.map((u) => path.join(MBEDTLS_DIR, "library", u));
}
