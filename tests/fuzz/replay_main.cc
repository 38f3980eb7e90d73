// The main() of a fuzz target outside the libFuzzer build: runs the target
// once on every file named, or on every file directly in a folder named (not
// below it: crashes-pending/ beside a corpus stays out), in name order.
// An exception or abort fails the test like any other crash.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "fuzz_target.h"

namespace {

std::vector<std::filesystem::path> inputs_named(int argc, char** argv) {
    std::vector<std::filesystem::path> files;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg = argv[i];
        if (!std::filesystem::is_directory(arg)) {
            files.push_back(arg);
            continue;
        }
        std::vector<std::filesystem::path> in_folder;
        for (const auto& entry : std::filesystem::directory_iterator(arg))
            if (entry.is_regular_file()) in_folder.push_back(entry.path());
        std::sort(in_folder.begin(), in_folder.end());
        files.insert(files.end(), in_folder.begin(), in_folder.end());
    }
    return files;
}

std::string content_of(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

int main(int argc, char** argv) {
    const auto files = inputs_named(argc, argv);
    if (files.empty()) {
        std::cerr << "usage: " << argv[0] << " FILE-OR-FOLDER...: no input found\n";
        return 2;
    }
    for (const auto& file : files) {
        std::cout << "replaying " << file.filename().string() << std::endl;
        const std::string input = content_of(file);
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
    }
    std::cout << files.size() << " inputs replayed without a crash\n";
    return 0;
}
