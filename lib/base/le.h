/* Little-endian loads and stores at any alignment, for the fixed-layout wire formats
 * (daqfmt, msg). memcpy of a fixed size compiles to one move; the byte swap compiles away on
 * little-endian hosts, so the code stays correct on big-endian ones without slowing down here. */
#ifndef LARTRIG_LE_H
#define LARTRIG_LE_H

#include <stdint.h>
#include <string.h>

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LT_LE16(x) (x)
#define LT_LE32(x) (x)
#define LT_LE64(x) (x)
#else
#define LT_LE16(x) __builtin_bswap16(x)
#define LT_LE32(x) __builtin_bswap32(x)
#define LT_LE64(x) __builtin_bswap64(x)
#endif

static inline void lt_put_le16(uint8_t *p, uint16_t v)
{
    v = LT_LE16(v);
    memcpy(p, &v, 2);
}
static inline void lt_put_le32(uint8_t *p, uint32_t v)
{
    v = LT_LE32(v);
    memcpy(p, &v, 4);
}
static inline void lt_put_le64(uint8_t *p, uint64_t v)
{
    v = LT_LE64(v);
    memcpy(p, &v, 8);
}
static inline uint16_t lt_get_le16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return LT_LE16(v);
}
static inline uint32_t lt_get_le32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return LT_LE32(v);
}
static inline uint64_t lt_get_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return LT_LE64(v);
}

#endif
