#pragma once
// Shared by the micro-benchmarks: where the Codex captures are, reading them, and JSON escaping
// for the inputs built from them.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

namespace bench {

// CMake gives CODEX_SAMPLES_DIR to the unit tests only. Here the copy in tests/data/codex is found
// from this file's path. With ccache's CCACHE_BASEDIR that path is relative to the build
// directory (../bench/samples.hpp), which is where the executable is, so a relative path is
// taken from the executable's directory, and failing that from the working directory.
inline std::filesystem::path samples_dir() {
#ifdef CODEX_SAMPLES_DIR
  return CODEX_SAMPLES_DIR;
#else
  const std::filesystem::path dir =
      std::filesystem::path(__FILE__).parent_path() / ".." / "tests" / "data" / "codex";
  if (dir.is_absolute()) return dir.lexically_normal();
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path from_exe = (exe.parent_path() / dir).lexically_normal();
    if (std::filesystem::exists(from_exe / "sample-sse-stream.txt", ec)) return from_exe;
  }
  return dir;
#endif
}

inline bool read_file(const std::filesystem::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// Text as JSON string content: quotes, backslashes and line breaks escaped.
inline std::string json_escape(std::string_view raw) {
  std::string out;
  for (const char c : raw) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace bench
