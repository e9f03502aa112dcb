// A standalone driver for libFuzzer-style targets, so `make test` can run every fuzz target
// with g++ alone: it replays the seed corpus, then feeds deterministic random mutations of it.
// With clang, the same targets link against -fsanitize=fuzzer for open-ended fuzzing
// (docs/operations.md, "Fuzzing").
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
    return 2;
  }
  long iterations = argc > 2 ? std::atol(argv[2]) : 20000;
  std::vector<std::string> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    seeds.push_back(ss.str());
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "no seeds in %s\n", argv[1]);
    return 2;
  }
  for (const auto& s : seeds)
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());

  std::mt19937_64 rng(0xC0DE);  // fixed seed: a failure reproduces
  static constexpr char kInteresting[] =
      "{}[]\":,\\\r\n \x00\xff"
      "data: event: [DONE]";
  for (long i = 0; i < iterations; ++i) {
    std::string input = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      std::size_t pos = input.empty() ? 0 : rng() % (input.size() + 1);
      switch (rng() % 5) {
        case 0:  // flip a byte
          if (!input.empty()) input[pos % input.size()] = static_cast<char>(rng());
          break;
        case 1:  // insert an interesting byte
          input.insert(pos, 1, kInteresting[rng() % (sizeof kInteresting - 1)]);
          break;
        case 2:  // delete a run
          if (!input.empty()) input.erase(pos % input.size(), rng() % 16);
          break;
        case 3:  // duplicate a run
          if (!input.empty()) {
            std::size_t at = pos % input.size();
            input.insert(at, input.substr(at, rng() % 64));
          }
          break;
        default:  // truncate
          input.resize(pos);
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  }
  std::printf("%s: %zu seeds, %ld mutated inputs, no crash\n", argv[0], seeds.size(), iterations);
  return 0;
}
