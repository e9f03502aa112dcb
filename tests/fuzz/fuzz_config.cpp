// Fuzz target: the TOML config parser. Bad input must give a clear error (std::runtime_error
// naming the origin), never a crash, a hang or another exception type.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "app/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    relay::app::parse_config_text(text, "fuzz.toml");
  } catch (const std::runtime_error& e) {
    // The message says where the problem is.
    if (std::string_view(e.what()).find("fuzz.toml") == std::string_view::npos) std::abort();
  }
  return 0;
}
