// Every SOCKS5 message as an encoder/decoder pair: RFC 1928 §3–7, RFC 1929.
// Encoders return bytes written (0 = invalid field or short buffer). Decoders are
// incremental and exact: they read at most in.size() bytes and consume one message.
#pragma once

#include <string_view>

#include "protocol/address.hpp"
#include "protocol/wire.hpp"

namespace socksify::proto {

// RFC 1928 §3, client → server: VER NMETHODS METHODS(1..255).
struct Greeting {
    Bytes methods;  // raw method bytes
};
size_t encode_greeting(Out out, const Greeting& m);
Result decode_greeting(Bytes in, Greeting& out);

// RFC 1928 §3, server → client: VER METHOD.
struct MethodSelection {
    Method method = Method::kNoAcceptable;
};
size_t encode_method_selection(Out out, const MethodSelection& m);
Result decode_method_selection(Bytes in, MethodSelection& out);

// RFC 1929 §2, client → server: VER(1) ULEN UNAME PLEN PASSWD, each 1..255 bytes.
struct UserPassRequest {
    std::string_view user;
    std::string_view pass;
};
size_t encode_userpass_request(Out out, const UserPassRequest& m);
Result decode_userpass_request(Bytes in, UserPassRequest& out);

// RFC 1929 §2, server → client: VER(1) STATUS; 0 is success.
struct UserPassStatus {
    uint8_t status = 0;
};
size_t encode_userpass_status(Out out, const UserPassStatus& m);
Result decode_userpass_status(Bytes in, UserPassStatus& out);

// RFC 1928 §4, client → server: VER CMD RSV(0) ATYP DST.ADDR DST.PORT.
struct Request {
    Command command = Command::kConnect;
    Address address;
};
size_t encode_request(Out out, const Request& m);
Result decode_request(Bytes in, Request& out);

// RFC 1928 §6, server → client: VER REP RSV(0) ATYP BND.ADDR BND.PORT.
// REP values above 8 are unassigned and decode as malformed.
struct ReplyMessage {
    Reply reply = Reply::kSucceeded;
    Address bound;
};
size_t encode_reply(Out out, const ReplyMessage& m);
Result decode_reply(Bytes in, ReplyMessage& out);

// A reply's length is known once its first five bytes (VER REP RSV ATYP and the first
// address byte) are in: a reader takes kReplyPrefix bytes, then reply_rest(prefix)
// more, and never a byte of what follows the reply on the connection.
inline constexpr size_t kReplyPrefix = 5;
// The bytes still to read after the prefix; 0 when ATYP is not one RFC 1928 defines.
constexpr size_t reply_rest(const uint8_t* prefix) {
    switch (static_cast<AddrType>(prefix[3])) {
        case AddrType::kIpv4: return 4 + 2 - 1;
        case AddrType::kIpv6: return 16 + 2 - 1;
        case AddrType::kDomain: return static_cast<size_t>(prefix[4]) + 2;
    }
    return 0;
}

// RFC 1928 §7, UDP datagram header: RSV(0,0) FRAG ATYP DST.ADDR DST.PORT.
// consumed is the header length; the payload is in.subspan(consumed).
struct UdpHeader {
    uint8_t frag = 0;
    Address address;
};
size_t encode_udp_header(Out out, const UdpHeader& m);
Result decode_udp_header(Bytes in, UdpHeader& out);

}  // namespace socksify::proto
