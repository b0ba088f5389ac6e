// The host strings the name tests walk: every spelling of some addresses, misspelled
// numbers, IPv6 literals with and without scopes, and the host-name syntax around
// each limit. The tests compare the shim's reading of each with libc's own; nothing
// here says what a string should be.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace socksify::shim::host_forms {

// The spellings of one 32-bit address: 1-4 parts, every part in decimal, octal (also
// with extra leading zeros), 0x and 0X hex, the last part also in the next base; each
// bare, with one and two trailing dots, and with a trailing space.
inline void address_spellings(uint32_t addr, std::vector<std::string>& out) {
    static const char* const kFormats[] = {"%u", "0%o", "0x%x", "0X%X", "000%o"};
    for (int parts = 1; parts <= 4; ++parts) {
        uint32_t values[4];
        for (int i = 0; i < parts - 1; ++i) values[i] = (addr >> (24 - 8 * i)) & 0xff;
        values[parts - 1] = parts == 1 ? addr : addr & (0xffffffffu >> (8 * (parts - 1)));
        for (int base = 0; base < 5; ++base) {
            std::string s;
            for (int i = 0; i < parts; ++i) {
                char part[32];
                int b = i == parts - 1 ? (base + 1) % 5 : base;
                snprintf(part, sizeof part, kFormats[b], values[i]);
                if (i > 0) s += '.';
                s += part;
            }
            for (const char* end : {"", ".", "..", " "}) out.push_back(s + end);
        }
    }
}

inline std::vector<std::string> ipv4_spellings() {
    std::vector<std::string> forms = {"203.0.113.7.", "2130706433", "0x7f.1",       "127.1",
                                      "0177.0.0.1",   "0x7f000001", "0X7F.1",       "4294967295",
                                      "0x7f.0.0.1.",  "127.0.0.1.", "203.0.113.10."};
    for (uint32_t a : {0x7f000001u, 0xcb007107u, 0u, 0xffffffffu, 0xc6336400u, 0x00ff00ffu,
                       0x01020304u, 0xcb00710au})
        address_spellings(a, forms);
    return forms;
}

inline std::vector<std::string> misspelled_numbers() {
    return {"4294967296",
            "0x100000000",
            "256.1",
            "1.256.1",
            "1.2.65536",
            "1.2.3.256",
            "1.0x1000000",
            "1.2.3.4.5",
            "08.1.1.1",
            "0x",
            "0x.1",
            "1.0x",
            "1..2",
            ".1.2.3",
            "1.2.3.-4",
            "+1.2.3.4",
            " 1.2",
            "1.2 ",
            "1.2.3.4x",
            "00x7f.1",
            "0xg.1",
            "1.2.3.4\t",
            "099",
            "1.2.",
            "0.1.1.~1",
            "1.2.3.4.5.",
            "99999999999999999999999999",
            "0000000000000000000000000000000000000000001",
            "0x000000000000000000000000007f.1"};
}

inline std::vector<std::string> ipv6_spellings() {
    return {"::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:127.0.0.1%1",
            "fe80::1%lo",
            "fe80::1%1",
            "fe80::1%0",
            "fe80::1%4294967295",
            "fe80::1%4294967296",
            "fe80::1%",
            "fe80::1%eth0",
            "fe80::1%nosuchif",
            "ff02::1de:c0:face:8d%lo",
            "ff01::1%lo",
            "2001:db8::1%lo",
            "2001:db8::1%7",
            "fe80::1%lo%lo",
            "fe80::1%01",
            "::1.",
            "fe80::1%lo.",
            "::1 ",
            "[::1]",
            "::ffff:0x7f.1",
            "1:2:3:4:5:6:7:8:9",
            ":::"};
}

// Names around every rule of the resolver's host-name check (no NUL: C strings).
inline std::vector<std::string> name_syntax() {
    std::vector<std::string> forms = {"web.socks.test",
                                      "a_b.example",
                                      "a.-b.example",
                                      "-a.example",
                                      ".",
                                      "..",
                                      ".a",
                                      "a.",
                                      "a..b",
                                      "a.b..",
                                      "0.1.1.~1",
                                      "a b",
                                      "foo.123",
                                      "foo.0x1f",
                                      "foo.0x1g",
                                      "a\\065b.example",
                                      "a\\.b.example",
                                      "a\\",
                                      "a\\1",
                                      "a\\256.example",
                                      "a\\-b.example",
                                      "\\045a.example",
                                      "a\\032b.example",
                                      "a\\000b.example",
                                      "*",
                                      "*.example",
                                      "b\xc3\xbc"
                                      "cher.example",
                                      "xn--bcher-kva.example",
                                      ""};
    // Every byte value inside a label, and first in a name.
    for (int c = 1; c < 256; ++c) {
        forms.push_back(std::string("a") + static_cast<char>(c) + "b.example");
        forms.push_back(std::string(1, static_cast<char>(c)) + "b.example");
    }
    // Label lengths around 63, name lengths around 253 (254 with the trailing dot).
    for (size_t n = 61; n <= 65; ++n) forms.push_back(std::string(n, 'a') + ".example");
    for (size_t n = 249; n <= 258; ++n) {
        std::string name;
        while (name.size() < n) name += name.size() % 2 == 0 ? 'a' : '.';
        if (name.back() == '.') name.back() = 'b';
        forms.push_back(name);
        forms.push_back(name + ".");
        forms.push_back(std::string(n - 60, 'x') + "." + std::string(59, 'y'));
    }
    return forms;
}

}  // namespace socksify::shim::host_forms
