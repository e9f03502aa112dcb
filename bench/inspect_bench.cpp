// Phase 4, inspect: reading model, stream, stream_options and prompt_cache_key from a request
// body (bench/README.md says what each benchmark measures and lists the figures). inspect()
// parses and validates the whole body with simdjson, so its cost grows with the body, and the
// cases go from a small chat request to a 1 MiB body whose "model" comes last.
//
// Each http::Request is set up as the session hands it to the pipeline (http/session.cpp,
// to_request): lower-case header names, and a body with 64 bytes of spare capacity so that
// simdjson can parse it in place. The `unpadded` cases leave that capacity out, to show what the
// padded copy costs that inspect() makes otherwise.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "http/message.hpp"
#include "relay/inspect.hpp"

#include "samples.hpp"

namespace {

constexpr std::size_t kJsonPadding = 64;  // what the session reserves past the body

// The filler for long texts: agent instructions and code, with the escapes they bring along.
constexpr std::string_view kFiller =
    "# Working with the codebase\n\nRead the files you change before you change them. Run "
    "`ninja -C build` and the unit tests after each step, and say what you ran.\n\n```cpp\n"
    "InspectResult inspect(const http::Request& req) {\n  if (req.body.empty()) return r;\n"
    "  auto* ct = http::find_header(req.headers, \"content-type\");\n}\n```\n\nKeep the "
    "user's style: \"small functions, comments that say why\". Never print secrets.\n";

// `n` bytes of JSON string content (escaped filler), not ending inside an escape.
std::string escaped_filler(std::size_t n) {
  const std::string unit = bench::json_escape(kFiller);
  std::string out;
  while (out.size() < n) out += unit;
  out.resize(n);
  std::size_t backslashes = 0;
  for (auto it = out.rbegin(); it != out.rend() && *it == '\\'; ++it) ++backslashes;
  if (backslashes % 2 == 1) out.back() = ' ';
  return out;
}

// The capture in tests/data/codex has its four longest texts cut, each to its start and a
// marker "…[N chars]". Filling each marker with N bytes gives back a body of the size Codex sends.
std::string fill_elisions(std::string body) {
  constexpr std::string_view kEllipsis = "\xe2\x80\xa6[";  // U+2026 then '['
  for (std::size_t at = body.find(kEllipsis); at != std::string::npos;
       at = body.find(kEllipsis, at)) {
    const std::size_t digits = at + kEllipsis.size();
    const std::size_t end = body.find(" chars]", digits);
    if (end == std::string::npos) break;
    const std::size_t n = std::stoul(body.substr(digits, end - digits));
    const std::string fill = escaped_filler(n);
    body.replace(at, end + 7 - at, fill);
    at += fill.size();
  }
  return body;
}

// A long conversation: messages of about 8 KiB each up to 1 MiB, then "model" as the last member.
std::string mib_body_model_last() {
  const std::string text = escaped_filler(8000);
  std::string body = R"({"input":[)";
  for (int i = 0; body.size() < (std::size_t{1} << 20) - 8192; ++i) {
    if (i > 0) body += ',';
    body += R"({"type":"message","role":")";
    body += i % 2 == 0 ? "user" : "assistant";
    body += R"(","content":[{"type":")";
    body += i % 2 == 0 ? "input_text" : "output_text";
    body += R"(","text":")" + text + R"("}]})";
  }
  body += R"(],"tools":[],"tool_choice":"auto","store":false,"stream":true,)";
  body += R"("prompt_cache_key":"01a21c0a-66e8-77b2-ac13-2247942bd417","model":"gpt-5.5"})";
  return body;
}

// The request as the session builds it (http/session.cpp, to_request).
relay::http::Request make_request(std::string target, relay::http::Headers headers,
                                  std::string body, bool padded) {
  relay::http::Request r;
  r.method = "POST";
  r.target = std::move(target);
  r.headers = std::move(headers);
  for (relay::http::Header& h : r.headers) {
    h.name = relay::http::to_lower(h.name);
    if (h.name == "content-length") h.value = std::to_string(body.size());
  }
  if (padded) {
    r.body = std::move(body);
    r.body.reserve(r.body.size() + kJsonPadding);
  } else {
    r.body = std::string(body.data(), body.size());  // capacity == size in libstdc++
  }
  return r;
}

// The headers of the Codex capture, request line skipped.
relay::http::Headers parse_headers(const std::string& text) {
  relay::http::Headers headers;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // POST /v1/responses HTTP/1.1
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::size_t v = colon + 1;
    while (v < line.size() && line[v] == ' ') ++v;
    headers.push_back({line.substr(0, colon), line.substr(v)});
  }
  return headers;
}

// What the OpenAI Python SDK sends with a chat completion.
relay::http::Headers sdk_headers() {
  return {{"Host", "127.0.0.1:18080"},
          {"Accept-Encoding", "gzip, deflate"},
          {"Connection", "keep-alive"},
          {"Accept", "application/json"},
          {"Content-Type", "application/json"},
          {"User-Agent", "OpenAI/Python 1.82.0"},
          {"X-Stainless-Lang", "python"},
          {"X-Stainless-Package-Version", "1.82.0"},
          {"X-Stainless-OS", "Linux"},
          {"X-Stainless-Arch", "x64"},
          {"X-Stainless-Runtime", "CPython"},
          {"X-Stainless-Runtime-Version", "3.11.2"},
          {"Authorization", "Bearer sk-test-0000000000000000000000000000"},
          {"X-Stainless-Async", "false"},
          {"x-stainless-retry-count", "0"},
          {"x-stainless-read-timeout", "600"},
          {"Content-Length", "0"}};
}

constexpr std::string_view kSmallChat =
    R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful )"
    R"(assistant."},{"role":"user","content":"Write a haiku about HTTP gateways."}],)"
    R"("stream":true,"temperature":0.7})";

struct Case {
  const char* name;
  relay::http::Request request;
  std::string model;   // what inspect() must find
  bool padded = true;  // the body has the session's spare capacity
};

std::vector<Case> cases;

bool load_cases() {
  const std::filesystem::path dir = bench::samples_dir();
  std::string body;
  std::string header_text;
  if (!bench::read_file(dir / "sample-request-body.json", body) ||
      !bench::read_file(dir / "sample-request-headers.txt", header_text)) {
    std::cerr << "inspect_bench: cannot read the Codex samples in " << dir.string() << "\n";
    return false;
  }
  const relay::http::Headers codex = parse_headers(header_text);
  const std::string full = fill_elisions(body);
  const std::string mib = mib_body_model_last();
  cases.push_back(
      {"small_chat",
       make_request("/v1/chat/completions", sdk_headers(), std::string(kSmallChat), true),
       "gpt-4o-mini"});
  cases.push_back({"codex_sample", make_request("/v1/responses", codex, body, true), "gpt-5.5"});
  cases.push_back({"codex_full", make_request("/v1/responses", codex, full, true), "gpt-5.5"});
  cases.push_back({"1MiB_model_last", make_request("/v1/responses", codex, mib, true), "gpt-5.5"});
  cases.push_back(
      {"codex_full/unpadded", make_request("/v1/responses", codex, full, false), "gpt-5.5", false});
  cases.push_back({"1MiB_model_last/unpadded", make_request("/v1/responses", codex, mib, false),
                   "gpt-5.5", false});
  benchmark::AddCustomContext("codex_samples", dir.string());
  benchmark::AddCustomContext("simdjson", simdjson::get_active_implementation()->name());
  return true;
}

void BM_Inspect(benchmark::State& state, const Case* c) {
  const relay::http::Request& req = c->request;
  bool ok = true;
  for (auto _ : state) {
    relay::InspectResult r = relay::inspect(req);
    ok &= !r.error && r.info.model == c->model;
    benchmark::DoNotOptimize(r);
  }
  if (!ok) state.SkipWithError("inspect() did not read the model");
  const auto n = static_cast<std::int64_t>(state.iterations());
  state.SetBytesProcessed(n * static_cast<std::int64_t>(req.body.size()));
  state.SetItemsProcessed(n);
  state.counters["body_bytes"] = static_cast<double>(req.body.size());
  if ((req.body.capacity() >= req.body.size() + kJsonPadding) != c->padded)
    state.SkipWithError("the body's spare capacity is not what the case says");
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!load_cases()) return 1;
  for (const Case& c : cases)
    benchmark::RegisterBenchmark((std::string("BM_Inspect/") + c.name).c_str(), BM_Inspect, &c);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
