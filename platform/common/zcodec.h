/* zcodec.h: the DEFLATE codec behind the module's z_* imports (RFC 7692
 * permessage-deflate), one implementation for every port.
 *
 * Built on zlib when the port defines MOTE_HAVE_ZLIB (the Linux simulator);
 * otherwise every call answers "no codec" and mote_z_available() is 0, so
 * the driver does not set MOTE_INIT_DEFLATE and the core never offers the
 * extension (the lwIP board today: zlib's windows do not fit its RAM).
 *
 * State is per connection handle, allocated by z_open (when the core has
 * negotiated the extension) and freed by z_close, or all at once by
 * mote_z_close_all() when the driver restarts the core. Pointers are host
 * pointers the engine has already bounds-checked; results follow src/abi/imports.ts.
 */
#ifndef MOTE_ZCODEC_H
#define MOTE_ZCODEC_H

#include <stdint.h>

/* 1 when this firmware has the codec and it is not switched off (the
 * driver then sets MOTE_INIT_DEFLATE). */
int mote_z_available(void);
/* Switch the codec off (0) or on (1, the default) for the next core start:
 * off, the core never offers permessage-deflate (mote-sim --no-deflate). */
void mote_z_enable(int on);
/* Free every connection's codec (core restart, shutdown). */
void mote_z_close_all(void);
/* Connections with a codec open (tests, diagnostics). */
uint32_t mote_z_open_count(void);
/* The number of codec sessions (MOTE_Z_SESSIONS by default), before the
 * first z_open (mote-sim --deflate-sessions). */
void mote_z_set_sessions(uint32_t n);

/* The imports z_open, z_inflate, z_deflate, z_close are port_z_* of
 * mote_imports.h (see src/abi/imports.ts for the contracts). res receives
 * u32 consumed, u32 produced (host byte order = wasm's little-endian on
 * every supported host). */
#include "mote_imports.h"

#endif
