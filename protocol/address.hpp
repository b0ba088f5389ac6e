// SOCKS5 address field (ATYP, DST/BND.ADDR, PORT) of RFC 1928 §4–5, §7.
#pragma once

#include <array>
#include <string_view>

#include "protocol/wire.hpp"

namespace socksify::proto {

struct Address {
    AddrType type = AddrType::kIpv4;
    std::array<uint8_t, 16> ip{};  // network order; IPv4 uses the first 4 bytes
    std::string_view domain;       // kDomain only: 1..255 bytes, points into caller memory
    uint16_t port = 0;             // host order
};

// Encoded size of ATYP+ADDR+PORT, or 0 when the address is invalid (domain empty or
// longer than 255 bytes, unknown type).
size_t address_size(const Address& a);

// Writes ATYP+ADDR+PORT; returns the bytes written, or 0 when invalid or out is short.
size_t encode_address(Out out, const Address& a);

// Decodes ATYP+ADDR+PORT. Malformed: unknown ATYP, domain length 0.
Result decode_address(Bytes in, Address& out);

}  // namespace socksify::proto
