// Fuzz target: the inspect phase's JSON reading. Bad input must give an error, never a crash,
// and must leave the body untouched.
#include <cstdint>
#include <cstdlib>

#include "relay/inspect.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  relay::http::Request req;
  req.method = "POST";
  req.target = "/v1/responses";
  req.headers = {{"content-type", "application/json"}};
  req.body.assign(reinterpret_cast<const char*>(data), size);
  if (size % 2) req.body.reserve(size + 64);  // both the padded and the copying path
  std::string before = req.body;
  auto r = relay::inspect(req);
  if (req.body != before) std::abort();
  if (r.error && r.info.json) std::abort();
  return 0;
}
