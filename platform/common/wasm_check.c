/* wasm_check.c: see wasm_check.h. */
#include "wasm_check.h"

#include <string.h>

struct rd {
  const uint8_t *p, *end;
  int bad;
};

static uint32_t rd_leb(struct rd *r) {
  uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (r->p >= r->end) break;
    uint8_t b = *r->p++;
    if (shift == 28 && (b & 0x70)) break; /* more than 32 bits */
    v |= (uint32_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  r->bad = 1;
  return 0;
}

static uint8_t rd_byte(struct rd *r) {
  if (r->p >= r->end) {
    r->bad = 1;
    return 0;
  }
  return *r->p++;
}

static int valtype(uint8_t t) { return t == 0x7f || t == 0x7e || t == 0x7d || t == 0x7c || t == 0x7b || t == 0x70 || t == 0x6f; }

/* The type section: a vector of func types (0x60, params, results). */
static int check_types(struct rd r) {
  uint32_t n = rd_leb(&r);
  for (uint32_t i = 0; i < n && !r.bad; i++) {
    if (rd_byte(&r) != 0x60) return -1;
    for (int k = 0; k < 2 && !r.bad; k++) {
      uint32_t c = rd_leb(&r);
      if (c > (uint32_t)(r.end - r.p)) return -1;
      for (uint32_t j = 0; j < c; j++)
        if (!valtype(rd_byte(&r))) return -1;
    }
  }
  return r.bad || r.p != r.end ? -1 : 0;
}

/* The code section: a vector of sized bodies, as many as `funcs`. */
static int check_code(struct rd r, uint32_t funcs) {
  uint32_t n = rd_leb(&r);
  if (r.bad || n != funcs) return -1;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t size = rd_leb(&r);
    if (r.bad || size == 0 || size > (uint32_t)(r.end - r.p)) return -1;
    r.p += size;
  }
  return r.p == r.end ? 0 : -1;
}

const char *mote_wasm_check(const uint8_t *bytes, uint32_t len) {
  static const uint8_t head[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  const char *why = NULL;
  uint32_t funcs = 0;
  int have_code = 0, last = 0;
  struct rd r = {bytes + 8, bytes + len, 0};
  if (len < 8 || memcmp(bytes, head, 8) != 0) why = "not a WebAssembly 1.0 binary";
  while (!why && r.p < r.end) {
    uint8_t id = rd_byte(&r);
    uint32_t size = rd_leb(&r);
    if (r.bad || size > (uint32_t)(r.end - r.p)) {
      why = "a section runs past the end";
      break;
    }
    struct rd sec = {r.p, r.p + size, 0};
    r.p += size;
    if (id == 0) continue; /* custom sections: anywhere, not checked */
    /* known ids, each at most once, in the spec's order (12, data count, before 10) */
    int order = id == 12 ? 10 : id >= 10 ? id + 1 : id;
    if (id > 12 || order <= last) {
      why = "sections out of order or unknown";
      break;
    }
    last = order;
    if (id == 1 && check_types(sec) < 0) why = "a malformed type section";
    if (id == 3) {
      funcs = rd_leb(&sec);
      if (sec.bad) why = "a malformed function section";
    }
    if (id == 10) {
      have_code = 1;
      if (check_code(sec, funcs) < 0) why = "a code section that does not match the function section";
    }
  }
  if (!why && funcs && !have_code) why = "functions without a code section";
  return why;
}
