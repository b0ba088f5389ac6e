// Replays fuzz inputs through one target without libFuzzer (g++ has none): every file
// named, or found under a named directory, is fed once. Flags (-runs=…) are ignored so
// a libFuzzer command line works; -v prints each path first.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool replay(const fs::path& path, bool verbose) {
    if (verbose) std::fprintf(stderr, "replaying %s\n", path.c_str());
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return false;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                               std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    bool verbose = false;
    for (int i = 1; i < argc; ++i) verbose |= std::strcmp(argv[i], "-v") == 0;
    size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        if (argv[i][0] == '-') continue;
        fs::path arg(argv[i]);
        std::error_code ec;
        if (fs::is_directory(arg, ec)) {
            for (const auto& entry : fs::recursive_directory_iterator(arg, ec)) {
                if (!entry.is_regular_file()) continue;
                if (!replay(entry.path(), verbose)) return 1;
                ++count;
            }
        } else if (fs::is_regular_file(arg, ec)) {
            if (!replay(arg, verbose)) return 1;
            ++count;
        } else {
            std::fprintf(stderr, "replay: no such input %s\n", argv[i]);
            return 1;
        }
        if (ec) {
            std::fprintf(stderr, "replay: %s: %s\n", argv[i], ec.message().c_str());
            return 1;
        }
    }
    std::printf("replayed %zu inputs\n", count);
    return 0;
}
