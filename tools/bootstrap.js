#!/usr/bin/env node
// First step of `npm start` and `npm test` on any machine: installs what is
// missing and nothing else, so re-runs take well under a second.
//   1. npm packages (npm ci when node_modules does not match package-lock.json)
//   2. Debian packages (apt-get) for the toolchain: gcc, wabt, curl; with
//      `test`, also the peers the suites start (chromium, the lws test client)
//   3. with `test`: PyPI tools (kosoku) into vendor/venv
//   4. for arm boards (`build-arm`, and with `test`): the Cortex-M toolchain
//      and QEMU (apt-get), and lwIP's source from Debian's source package
//      into vendor/lwip (pinned by version and sha256)
//   5. always: wasm3's C core (the interpreter engine) into vendor/wasm3, from
//      the PyPI sdist of pywasm3, pinned by version and sha256;
//      `node tools/bootstrap.js wasm3` does this step only (tools/build.ts
//      runs it when vendor/wasm3 is missing)
//   6. always: mbedTLS 3.4.0 source into vendor/mbedtls (crates.io crate
//      mbedtls-sys-auto, pinned by version and sha256) and TLS test
//      certificates into vendor/tls (openssl); `node tools/bootstrap.js tls`
//      does this step only (tools/tls.ts runs it when something is missing)
// Plain JavaScript with no dependencies: it runs before node_modules exists.
"use strict";
const { execSync, spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const os = require("os");

const root = path.resolve(__dirname, "..");
const step = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function sha(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function npmPackages() {
  const lock = path.join(root, "package-lock.json");
  const stamp = path.join(root, "node_modules", ".mote-lock-sha256");
  const want = sha(lock);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want) return;
  step("installing npm packages (npm ci)...");
  const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error("npm ci failed; check network access to the npm registry");
  fs.writeFileSync(stamp, want);
}

// Debian packages: command (or absolute file path) that proves presence -> package name.
const DEBIAN_BUILD = [
  ["gcc", "gcc"],
  ["wasm2c", "wabt"],
  ["curl", "curl"],
  ["__file__/usr/include/zlib.h", "zlib1g-dev"], // the simulator's DEFLATE codec (permessage-deflate)
];
// Cortex-M boards (mps2-an386): cross compiler, C library, the emulator.
const DEBIAN_ARM = [
  ["arm-none-eabi-gcc", "gcc-arm-none-eabi"],
  ["__file__/usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/libc.a", "libnewlib-arm-none-eabi"],
  ["qemu-system-arm", "qemu-system-arm"],
  ["xz", "xz-utils"], // unpacks lwIP's source tarball
];
// Peers and tools the test suites start themselves.
const DEBIAN_TEST = [
  ["chromium", "chromium"],
  ["libwebsockets-test-client", "libwebsockets-test-server"],
  ["python3", "python3"],
  ["ip", "iproute2"], // test/integration/keepalive.test.ts: a network namespace and a veth
  ["/usr/include/libwebsockets.h", "libwebsockets-dev"], // the anchor of `mote bench`
  ["clang", "clang"], // test/fuzz: libFuzzer targets over the core (tools/fuzz.ts)
  ["__file__/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a", "libclang-rt-14-dev"],
];

function have(cmd) {
  if (cmd.startsWith("__file__")) return fs.existsSync(cmd.slice(8));
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function debianPackages(list) {
  const missing = list.filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  const sudo = process.getuid && process.getuid() === 0 ? "" : "sudo ";
  step(`installing Debian packages: ${missing.join(" ")} (apt-get)...`);
  // apt's own output goes to vendor/apt.log; it is shown only on failure
  const logFile = path.join(root, "vendor", "apt.log");
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const cmd =
    `${sudo}apt-get update -qq && ` +
    `${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing.join(" ")}`;
  const r = spawnSync("sh", ["-c", `(${cmd}) >${JSON.stringify(logFile)} 2>&1`], { stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(fs.readFileSync(logFile, "utf8").slice(-4000));
    throw new Error(`apt-get install ${missing.join(" ")} failed (log: ${logFile})`);
  }
}

// PyPI tools in vendor/venv, from tools/requirements.txt (hash-checked).
function pythonTools() {
  const req = path.join(root, "tools", "requirements.txt");
  const venv = path.join(root, "vendor", "venv");
  const stamp = path.join(venv, ".mote-requirements-sha256");
  const want = sha(req);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want) return;
  step("installing PyPI tools into vendor/venv (kosoku)...");
  if (!fs.existsSync(path.join(venv, "bin", "python"))) {
    let r = spawnSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
    if (r.status !== 0) {
      debianPackages([["__never__", "python3-venv"]]);
      r = spawnSync("python3", ["-m", "venv", venv], { stdio: "inherit" });
      if (r.status !== 0) throw new Error("python3 -m venv failed");
    }
  }
  const r = spawnSync(path.join(venv, "bin", "pip"), ["install", "--quiet", "--require-hashes", "-r", req], { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`pip install -r ${req} failed`);
  fs.writeFileSync(stamp, want);
}

// lwIP from Debian's source package, upstream src/ only (BSD). Debian's
// patches and its port/ (GPL) are not used: the pristine .orig tarball named
// by the hash-checked .dsc is unpacked, and only src/ is kept.
const LWIP = {
  version: "2.1.3+dfsg1-2",
  dsc: ["lwip_2.1.3+dfsg1-2.dsc", "8d8f944db8e6d542fc2d6f01559078fb1b5dda71651c67ee5fa3571ed1342c50"],
  orig: ["lwip_2.1.3+dfsg1.orig.tar.xz", "0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24"],
  top: "lwip-2.1.3",
};

// Runs a shell command with its output appended to vendor/apt.log, which is
// shown only when it fails (and `quiet` is not set).
function run(cmd, quiet = false) {
  const logFile = path.join(root, "vendor", "apt.log");
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const r = spawnSync("sh", ["-c", `(${cmd}) >>${JSON.stringify(logFile)} 2>&1`], { stdio: "inherit" });
  if (r.status !== 0) {
    if (!quiet) process.stderr.write(fs.readFileSync(logFile, "utf8").slice(-4000));
    throw new Error(`${cmd.split(" && ").pop()} failed (log: ${logFile})`);
  }
}

// A deb-src entry for the Debian mirror this machine already uses.
// Returns true when it added one.
function debSrcEntry(sudo) {
  const dir = "/etc/apt/sources.list.d";
  const mine = path.join(dir, "mote-deb-src.sources");
  if (fs.existsSync(mine)) return false;
  const debian = path.join(dir, "debian.sources");
  let text;
  if (fs.existsSync(debian)) {
    text = fs.readFileSync(debian, "utf8").replace(/^Types:\s*deb\s*$/gm, "Types: deb-src");
  } else {
    const list = fs.existsSync("/etc/apt/sources.list") ? fs.readFileSync("/etc/apt/sources.list", "utf8") : "";
    const lines = list.split("\n").filter((l) => /^deb\s/.test(l)).map((l) => l.replace(/^deb\s/, "deb-src "));
    if (lines.length === 0) throw new Error("no Debian apt source found to add a deb-src entry for");
    text = lines.join("\n") + "\n";
  }
  const tmp = path.join(os.tmpdir(), `mote-deb-src-${process.pid}.sources`);
  fs.writeFileSync(tmp, text);
  run(`${sudo}install -m 644 ${JSON.stringify(tmp)} ${JSON.stringify(mine)}`);
  fs.unlinkSync(tmp);
  return true;
}

function lwipSource() {
  const dest = path.join(root, "vendor", "lwip");
  const stamp = path.join(dest, ".mote-lwip");
  const want = `${LWIP.version} ${LWIP.orig[1]}`;
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want && fs.existsSync(path.join(dest, "src", "core", "tcp.c"))) return;
  step(`fetching lwIP ${LWIP.version} source (apt-get source)...`);
  const sudo = process.getuid && process.getuid() === 0 ? "" : "sudo ";
  if (debSrcEntry(sudo)) run(`${sudo}apt-get update -qq`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mote-lwip-"));
  try {
    const fetch = `cd ${JSON.stringify(tmp)} && apt-get source --download-only -qq lwip=${LWIP.version}`;
    try {
      run(fetch, true);
    } catch (e) {
      // the source index may be older than the entry (or than the mirror)
      run(`${sudo}apt-get update -qq`);
      run(fetch);
    }
    for (const [file, hash] of [LWIP.dsc, LWIP.orig]) {
      const got = sha(path.join(tmp, file));
      if (got !== hash) throw new Error(`${file}: sha256 ${got}, expected ${hash}`);
    }
    run(`tar -xJf ${JSON.stringify(path.join(tmp, LWIP.orig[0]))} -C ${JSON.stringify(tmp)} ${LWIP.top}/src ${LWIP.top}/COPYING`);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(dest, { recursive: true });
    fs.renameSync(path.join(tmp, LWIP.top, "src"), path.join(dest, "src"));
    fs.renameSync(path.join(tmp, LWIP.top, "COPYING"), path.join(dest, "COPYING"));
    fs.writeFileSync(stamp, want);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// wasm3 0.5.0: its C core is the wasm3/ folder of the pywasm3 sdist on PyPI.
// Only wasm3/*.c, wasm3/*.h and LICENSE are extracted, nothing of the
// Python binding. mote's patches (platform/engines/wasm3/*.patch, each
// explained in its header) are applied on top. A manifest (sdist hash, patch
// hashes, sha256 of every resulting file) makes re-runs a no-op and catches a
// modified or partial vendor/wasm3.
const WASM3 = {
  pkg: "pywasm3",
  version: "0.5.0",
  sha256: "5a47c8a39f7f6ae71b3316b2e5d86c9d0db6e771a65f09a86e4d4aa3a19aefcc",
};
const WASM3_MANIFEST = ".mote-manifest.json";
const WASM3_PATCHES = path.join(root, "platform", "engines", "wasm3");

function wasm3Patches() {
  const names = fs.existsSync(WASM3_PATCHES) ? fs.readdirSync(WASM3_PATCHES).filter((f) => f.endsWith(".patch")).sort() : [];
  return names.map((f) => ({ name: f, file: path.join(WASM3_PATCHES, f), sha256: sha(path.join(WASM3_PATCHES, f)) }));
}

function wasm3Present(dest) {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dest, WASM3_MANIFEST), "utf8"));
    if (m.sdist !== `${WASM3.pkg}-${WASM3.version}.tar.gz` || m.sha256 !== WASM3.sha256) return false;
    if (JSON.stringify(m.patches || []) !== JSON.stringify(wasm3Patches().map((p) => [p.name, p.sha256]))) return false;
    const names = Object.keys(m.files || {});
    return names.includes("m3_exec.c") && names.every((f) => fs.existsSync(path.join(dest, f)) && sha(path.join(dest, f)) === m.files[f]);
  } catch {
    return false;
  }
}

function wasm3Source() {
  const dest = path.join(root, "vendor", "wasm3");
  if (wasm3Present(dest)) return;
  const sdist = `${WASM3.pkg}-${WASM3.version}.tar.gz`;
  step(`fetching wasm3 ${WASM3.version} C sources (PyPI sdist ${sdist}, pip download)...`);
  if (!have("python3")) debianPackages([["python3", "python3"]]);
  if (spawnSync("python3", ["-m", "pip", "--version"], { stdio: "ignore" }).status !== 0) debianPackages([["__never__", "python3-pip"]]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mote-wasm3-"));
  try {
    const r = spawnSync(
      "python3",
      ["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-binary", ":all:", "--no-deps", "-d", tmp,
        `${WASM3.pkg}==${WASM3.version}`],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    const file = path.join(tmp, sdist);
    if (r.status !== 0 || !fs.existsSync(file)) throw new Error(`pip download ${WASM3.pkg}==${WASM3.version} failed; check network access to PyPI`);
    const got = sha(file);
    if (got !== WASM3.sha256) throw new Error(`${sdist}: sha256 ${got}, expected ${WASM3.sha256}; not using it`);
    const top = `${WASM3.pkg}-${WASM3.version}`;
    const list = spawnSync("tar", ["-tzf", file], { encoding: "utf8" });
    if (list.status !== 0) throw new Error(`tar -tzf ${sdist} failed`);
    const members = list.stdout.split("\n").filter((m) => m.startsWith(`${top}/wasm3/`) && /^[A-Za-z0-9_]+\.[ch]$/.test(m.slice(top.length + 7)));
    if (!members.includes(`${top}/wasm3/m3_exec.c`)) throw new Error(`${sdist} holds no wasm3/ C sources`);
    const out = path.join(tmp, "wasm3");
    fs.mkdirSync(out);
    for (const [strip, names] of [["2", members], ["1", [`${top}/LICENSE`]]]) {
      const t = spawnSync("tar", ["-xzf", file, "--no-same-owner", "-C", out, `--strip-components=${strip}`, ...names], { stdio: "inherit" });
      if (t.status !== 0) throw new Error(`extracting ${sdist} failed`);
    }
    const patches = wasm3Patches();
    for (const p of patches) {
      // `patch` where present, else git (one of them is on any machine with this checkout)
      const t = have("patch")
        ? spawnSync("patch", ["-p1", "--forward", "--batch", "--quiet", "-i", p.file], { cwd: out, stdio: "inherit" })
        : spawnSync("git", ["apply", "-p1", p.file], { cwd: out, stdio: "inherit" });
      if (t.status !== 0) throw new Error(`applying ${p.name} to wasm3 ${WASM3.version} failed`);
    }
    const files = {};
    for (const f of fs.readdirSync(out).sort()) files[f] = sha(path.join(out, f));
    const manifest = { sdist, sha256: WASM3.sha256, patches: patches.map((p) => [p.name, p.sha256]), files };
    fs.writeFileSync(path.join(out, WASM3_MANIFEST), JSON.stringify(manifest, null, 1) + "\n");
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.renameSync(out, dest);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// mbedTLS 3.4.0 (the TLS layer of the ports, platform/tls/): its source is
// the vendor/ folder of the crates.io crate mbedtls-sys-auto 3.4.0, fetched
// as the registry serves it (static.crates.io), pinned by version and sha256.
// Only include/, library/ and LICENSE are kept, in vendor/mbedtls; mote
// compiles the library with its own configuration (platform/tls/*.h).
const MBEDTLS = {
  crate: "mbedtls-sys-auto",
  version: "3.4.0",
  sha256: "db5d31b792e5115108971c442e9ddfd433458544643e715696eca2d0be552bfd",
};

function mbedtlsSource() {
  const dest = path.join(root, "vendor", "mbedtls");
  const stamp = path.join(dest, ".mote-mbedtls");
  const want = `${MBEDTLS.crate} ${MBEDTLS.version} ${MBEDTLS.sha256}`;
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === want && fs.existsSync(path.join(dest, "library", "ssl_tls.c"))) return;
  const file = `${MBEDTLS.crate}-${MBEDTLS.version}.crate`;
  step(`fetching mbedTLS ${MBEDTLS.version} source (crates.io ${file})...`);
  if (!have("curl")) debianPackages([["curl", "curl"]]);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mote-mbedtls-"));
  try {
    const url = `https://static.crates.io/crates/${MBEDTLS.crate}/${file}`;
    const r = spawnSync("curl", ["-sSfL", "--retry", "2", "-o", path.join(tmp, file), url], { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error(`downloading ${url} failed; check network access to crates.io`);
    const got = sha(path.join(tmp, file));
    if (got !== MBEDTLS.sha256) throw new Error(`${file}: sha256 ${got}, expected ${MBEDTLS.sha256}; not using it`);
    const top = `${MBEDTLS.crate}-${MBEDTLS.version}/vendor`;
    const t = spawnSync("tar", ["-xzf", path.join(tmp, file), "--no-same-owner", "-C", tmp, `${top}/include`, `${top}/library`, `${top}/LICENSE`], { stdio: "inherit" });
    if (t.status !== 0) throw new Error(`extracting ${file} failed`);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.renameSync(path.join(tmp, top), dest);
    fs.writeFileSync(stamp, want);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// Test certificates for TLS (never used outside tests): a CA, ECDSA P-256
// and RSA-2048 server certificates for localhost/127.0.0.1, a second ECDSA
// one for the SNI name "sni.mote.test", a client certificate from the CA
// and one from an unrelated CA, made with the openssl command into
// vendor/tls (git-ignored; the private keys never leave this machine).
const TLS_TEST_VERSION = "1";
function tlsTestCerts() {
  const dir = path.join(root, "vendor", "tls");
  const stamp = path.join(dir, ".mote-tls");
  const files = ["ca.crt", "ecdsa.crt", "ecdsa.key", "rsa.crt", "rsa.key", "sni.crt", "sni.key", "client.crt", "client.key", "rogue.crt", "rogue.key"];
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === TLS_TEST_VERSION && files.every((f) => fs.existsSync(path.join(dir, f)))) return;
  step("making TLS test certificates (openssl) in vendor/tls...");
  if (!have("openssl")) debianPackages([["openssl", "openssl"]]);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const q = (f) => JSON.stringify(path.join(dir, f));
  const ec = (key) => `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ${q(key)}`;
  const ext = (name, body) => {
    fs.writeFileSync(path.join(dir, name), body);
    return q(name);
  };
  const serverExt = (name, sans) => ext(`${name}.ext`, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(",")}\n`);
  const leaf = (name, keyCmd, cn, extFile, ca = "ca") =>
    `${keyCmd} && openssl req -new -key ${q(name + ".key")} -subj "/CN=${cn}" -out ${q(name + ".csr")} && ` +
    `openssl x509 -req -in ${q(name + ".csr")} -CA ${q(ca + ".crt")} -CAkey ${q(ca + ".key")} -CAcreateserial -days 3650 -sha256 -extfile ${extFile} -out ${q(name + ".crt")}`;
  const ca = (name, cn) => `${ec(name + ".key")} && openssl req -x509 -new -key ${q(name + ".key")} -subj "/CN=${cn}" -days 3650 -sha256 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out ${q(name + ".crt")}`;
  const local = ["DNS:localhost", "IP:127.0.0.1", "IP:::1"];
  const clientExt = ext("client.ext", "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n");
  run(
    [
      ca("ca", "mote test CA"),
      ca("rogue-ca", "not the mote test CA"),
      leaf("ecdsa", ec("ecdsa.key"), "localhost", serverExt("local", local)),
      leaf("rsa", `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ${q("rsa.key")}`, "localhost", serverExt("local", local)),
      leaf("sni", ec("sni.key"), "sni.mote.test", serverExt("sni", ["DNS:sni.mote.test"])),
      leaf("client", ec("client.key"), "mote test client", clientExt),
      leaf("rogue", ec("rogue.key"), "rogue client", clientExt, "rogue-ca"),
    ].join(" && "),
  );
  for (const f of fs.readdirSync(dir)) if (/\.(csr|ext|srl)$/.test(f)) fs.rmSync(path.join(dir, f));
  fs.writeFileSync(stamp, TLS_TEST_VERSION);
}

function main() {
  const mode = process.argv[2] || "build"; // build | build-arm | test | wasm3
  const t0 = Date.now();
  if (mode === "wasm3") return wasm3Source();
  if (mode === "tls") return mbedtlsSource(), tlsTestCerts();
  npmPackages();
  const arm = mode === "test" || mode === "build-arm";
  debianPackages([...DEBIAN_BUILD, ...(arm ? DEBIAN_ARM : []), ...(mode === "test" ? DEBIAN_TEST : [])]);
  if (arm) lwipSource();
  wasm3Source();
  mbedtlsSource();
  tlsTestCerts();
  if (mode === "test") pythonTools();
  const dt = Date.now() - t0;
  if (dt > 1000) step(`done in ${(dt / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`[setup] failed: ${e.message}\n`);
  process.exit(1);
}
