// The relay's per-response streaming work (bench/README.md says what each benchmark measures and
// lists the figures): the SSE parser, the usage tap that relay_body() feeds every upstream chunk
// of an SSE response, the usage read of a whole JSON response, and the filter that takes the
// relay's own usage chunk out of a chat completions stream again.
//
// The streams are built from the event shapes of the real capture in tests/data/codex
// (sample-sse-stream.txt): a Responses stream of 200 events (response.created, in_progress, the
// output item and content part, 192 response.output_text.delta, the done events and
// response.completed with its usage), and a chat completions stream of 200 events in the shape
// of tests/mock-provider/chat.mjs with include_usage. One iteration is one whole stream through
// fresh objects, as the relay has per response, so the time column is the cost per stream.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "sse/sse_parser.hpp"
#include "sse/stream_tap.hpp"
#include "sse/usage_chunk_filter.hpp"

#include "samples.hpp"

namespace {

// ---- Inputs ---------------------------------------------------------------------------------

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// The events of an SSE text whose events end in a blank line ("\n\n"), each with its blank line.
std::vector<std::string> split_events(std::string_view stream) {
  std::vector<std::string> events;
  while (!stream.empty()) {
    std::size_t end = stream.find("\n\n");
    end = end == std::string_view::npos ? stream.size() : end + 2;
    events.emplace_back(stream.substr(0, end));
    stream.remove_prefix(end);
  }
  return events;
}

// What a coding agent's answer looks like: prose, code spans, quotes and line breaks (which are
// escaped in the JSON).
constexpr std::string_view kAnswer =
    "I read the relay's streaming path and ran the unit tests. Here is what I found.\n\n"
    "1. `relay_body()` feeds every upstream chunk to the `StreamTap` before it goes to the "
    "client, so the tap sees the bytes in the order the client does.\n"
    "2. The tap parses each event's JSON to find \"response.completed\" and its usage; the text "
    "deltas are parsed too, although only their \"type\" is read.\n"
    "3. A chunk that ends in the middle of a line is kept in `line_` until the rest arrives.\n\n"
    "Nothing here needs to change for this issue. If you want, I can add a test that feeds the "
    "stream one byte at a time and checks the usage figures: {\"input_tokens\": 2345, "
    "\"output_tokens\": 57}.\n";

// The answer cut into `count` deltas of 2 to 8 characters (a token is about 4), unescaped.
std::vector<std::string> answer_pieces(std::size_t count) {
  constexpr std::size_t kLengths[] = {4, 3, 6, 2, 5, 8, 4, 7, 3, 5};
  std::vector<std::string> pieces;
  std::size_t at = 0;
  for (std::size_t i = 0; i < count; ++i) {
    std::string piece;
    for (std::size_t n = 0; n < kLengths[i % std::size(kLengths)]; ++n) {
      piece += kAnswer[at];
      at = (at + 1) % kAnswer.size();
    }
    pieces.push_back(std::move(piece));
  }
  return pieces;
}

struct Stream {
  std::vector<std::string> events;  // each with its blank line
  std::string bytes;                // all events, as the upstream sends them
  std::string full_text;            // the answer, JSON-escaped
};

constexpr std::size_t kStreamEvents = 200;

// response.created .. content_part.added from the sample, 192 deltas, then output_text.done ..
// response.completed with the whole answer in them and renumbered sequence numbers.
bool build_responses_stream(const std::string& sample, Stream& s) {
  const std::vector<std::string> ev = split_events(sample);
  if (ev.size() != 13 || ev[4].find("response.output_text.delta") == std::string::npos ||
      ev[12].find("response.completed") == std::string::npos)
    return false;
  constexpr std::string_view kSampleText = "Hello from the mock relay upstream.";
  const std::size_t head = 4;
  const std::size_t tail = 4;
  const std::size_t deltas = kStreamEvents - head - tail;
  std::string text;
  for (const std::string& piece : answer_pieces(deltas)) text += piece;
  s.full_text = bench::json_escape(text);
  std::size_t seq = 0;
  for (std::size_t i = 0; i < head; ++i) {
    s.events.push_back(ev[i]);
    ++seq;
  }
  for (const std::string& piece : answer_pieces(deltas)) {
    std::string e = replace_all(ev[4], "\"sequence_number\":4,",
                                "\"sequence_number\":" + std::to_string(seq++) + ",");
    s.events.push_back(replace_all(e, "\"delta\":\"Hello fr\"",
                                   "\"delta\":\"" + bench::json_escape(piece) + "\""));
  }
  for (std::size_t i = 13 - tail; i < 13; ++i) {
    std::string e = replace_all(ev[i], "\"sequence_number\":" + std::to_string(i) + ",",
                                "\"sequence_number\":" + std::to_string(seq++) + ",");
    s.events.push_back(replace_all(e, kSampleText, s.full_text));
  }
  for (const std::string& e : s.events) s.bytes += e;
  return s.events.size() == kStreamEvents;
}

// A chat completions stream with include_usage (as the relay asks for it): the role chunk, 196
// content chunks, the finish chunk, the usage-only chunk and [DONE]. Every chunk but the usage
// chunk carries "usage":null, as OpenAI sends it when include_usage is set.
Stream build_chat_stream() {
  Stream s;
  const std::string head =
      "data: {\"id\":\"chatcmpl-56fd1299d9118c00264df2cb\",\"object\":\"chat.completion.chunk\","
      "\"created\":1795768006,\"model\":\"gpt-5.5\",\"service_tier\":\"default\","
      "\"system_fingerprint\":\"fp_mock0001\",\"choices\":";
  auto chunk = [&](std::string_view choices, std::string_view usage) {
    return head + std::string(choices) + ",\"usage\":" + std::string(usage) + "}\n\n";
  };
  s.events.push_back(
      chunk("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
            "\"logprobs\":null,\"finish_reason\":null}]",
            "null"));
  std::string text;
  for (const std::string& piece : answer_pieces(kStreamEvents - 4)) {
    text += piece;
    s.events.push_back(chunk("[{\"index\":0,\"delta\":{\"content\":\"" + bench::json_escape(piece) +
                                 "\"},\"logprobs\":null,\"finish_reason\":null}]",
                             "null"));
  }
  s.full_text = bench::json_escape(text);
  s.events.push_back(
      chunk("[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]", "null"));
  s.events.push_back(
      chunk("[]",
            "{\"prompt_tokens\":2345,\"completion_tokens\":57,\"total_tokens\":2402,"
            "\"prompt_tokens_details\":{\"cached_tokens\":1920,\"audio_tokens\":0},"
            "\"completion_tokens_details\":{\"reasoning_tokens\":32,\"audio_tokens\":0,"
            "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}"));
  s.events.push_back("data: [DONE]\n\n");
  for (const std::string& e : s.events) s.bytes += e;
  return s;
}

// How the bytes arrive: one event per chunk (the upstream flushes each event and the relay
// reads it before the next), 1460-byte TCP segments, or 16 KiB reads (curl's largest write).
std::vector<std::string> chunked(const Stream& s, std::size_t chunk_size) {
  if (chunk_size == 0) return s.events;
  std::vector<std::string> chunks;
  for (std::size_t i = 0; i < s.bytes.size(); i += chunk_size)
    chunks.push_back(s.bytes.substr(i, chunk_size));
  return chunks;
}

struct Inputs {
  Stream responses;
  Stream chat;
  std::string chat_body_short;  // non-streaming chat completion, a short answer
  std::string chat_body_long;   // the same with a 16 KiB answer
  std::string responses_body;   // non-streaming Responses: the response object of the sample
};

Inputs inputs;

std::string chat_completion_body(std::string_view escaped_content) {
  return "{\"id\":\"chatcmpl-56fd1299d9118c00264df2cb\",\"object\":\"chat.completion\","
         "\"created\":1795768006,\"model\":\"gpt-5.5\",\"choices\":[{\"index\":0,\"message\":{"
         "\"role\":\"assistant\",\"content\":\"" +
         std::string(escaped_content) +
         "\",\"refusal\":null,\"annotations\":[]},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
         "\"usage\":{\"prompt_tokens\":2345,\"completion_tokens\":57,\"total_tokens\":2402,"
         "\"prompt_tokens_details\":{\"cached_tokens\":1920,\"audio_tokens\":0},"
         "\"completion_tokens_details\":{\"reasoning_tokens\":32,\"audio_tokens\":0,"
         "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},"
         "\"service_tier\":\"default\",\"system_fingerprint\":\"fp_mock0001\"}";
}

bool load_inputs() {
  const std::filesystem::path dir = bench::samples_dir();
  std::string sample;
  if (!bench::read_file(dir / "sample-sse-stream.txt", sample)) {
    std::cerr << "sse_bench: cannot read " << (dir / "sample-sse-stream.txt").string() << "\n";
    return false;
  }
  if (!build_responses_stream(sample, inputs.responses)) {
    std::cerr << "sse_bench: sample-sse-stream.txt does not have the expected 13 events\n";
    return false;
  }
  inputs.chat = build_chat_stream();
  inputs.chat_body_short = chat_completion_body(inputs.chat.full_text);
  std::string long_text;
  while (long_text.size() < 16384) long_text += bench::json_escape(kAnswer);
  inputs.chat_body_long = chat_completion_body(long_text);
  // A non-streaming Responses body is the `response` object that response.completed carries.
  constexpr std::string_view kMember = "\"response\":";
  const std::string& completed = inputs.responses.events.back();
  const std::size_t at = completed.find(kMember);
  const std::size_t end = completed.rfind("}}");
  if (at == std::string::npos || end == std::string::npos) {
    std::cerr << "sse_bench: response.completed has no response object\n";
    return false;
  }
  const std::size_t start = at + kMember.size();
  inputs.responses_body = completed.substr(start, end + 1 - start);
  benchmark::AddCustomContext("codex_samples", dir.string());
  benchmark::AddCustomContext("simdjson", simdjson::get_active_implementation()->name());
  benchmark::AddCustomContext("responses_stream",
                              std::to_string(inputs.responses.events.size()) + " events, " +
                                  std::to_string(inputs.responses.bytes.size()) + " bytes");
  benchmark::AddCustomContext("chat_stream",
                              std::to_string(inputs.chat.events.size()) + " events, " +
                                  std::to_string(inputs.chat.bytes.size()) + " bytes");
  return true;
}

void set_stream_rates(benchmark::State& state, const Stream& s, std::size_t chunks) {
  const auto n = static_cast<std::int64_t>(state.iterations());
  state.SetBytesProcessed(n * static_cast<std::int64_t>(s.bytes.size()));
  state.SetItemsProcessed(n * static_cast<std::int64_t>(s.events.size()));
  state.counters["chunks"] = static_cast<double>(chunks);
}

// ---- Benchmarks -----------------------------------------------------------------------------

// The parser alone; the callback only looks at the event, as a stand-in for the tap's.
void BM_SseParser(benchmark::State& state, std::size_t chunk_size) {
  const Stream& s = inputs.responses;
  const std::vector<std::string> chunks = chunked(s, chunk_size);
  std::size_t events = 0;
  std::size_t data_bytes = 0;
  bool ok = true;
  for (auto _ : state) {
    relay::sse::SseParser parser;
    events = 0;
    // One std::function per feed, as StreamTap::feed makes it.
    for (const std::string& c : chunks)
      parser.feed(c, [&](const relay::sse::Event& ev) {
        ++events;
        data_bytes += ev.data.size();
      });
    benchmark::DoNotOptimize(data_bytes);
    ok &= parser.at_boundary() && events == s.events.size();
  }
  if (!ok) state.SkipWithError("wrong number of events, or not at an event boundary at the end");
  set_stream_rates(state, s, chunks.size());
}

// The usage tap as relay_body() runs it: tap.feed(chunk) for every chunk of the response.
void BM_StreamTap(benchmark::State& state, std::size_t chunk_size, const Stream* s) {
  const std::vector<std::string> chunks = chunked(*s, chunk_size);
  bool ok = true;
  for (auto _ : state) {
    relay::sse::StreamTap tap;
    for (const std::string& c : chunks) tap.feed(c);
    ok &= tap.terminal_seen() && tap.usage().input_tokens == 2345 &&
          tap.usage().cached_tokens == 1920 && tap.events() == s->events.size();
  }
  if (!ok) state.SkipWithError("the tap did not read the terminal event and the usage");
  set_stream_rates(state, *s, chunks.size());
}

// The usage-chunk filter as relay_body() runs it on a chat stream whose usage chunk the
// relay asked for: filter.feed(chunk, filtered) per chunk, flush at the end.
void BM_UsageChunkFilter(benchmark::State& state, std::size_t chunk_size) {
  const Stream& s = inputs.chat;
  const std::vector<std::string> chunks = chunked(s, chunk_size);
  const std::size_t want = s.bytes.size() - s.events[s.events.size() - 2].size();
  std::size_t sent = 0;
  bool ok = true;
  std::string filtered;
  for (auto _ : state) {
    relay::sse::UsageChunkFilter filter;
    sent = 0;
    for (const std::string& c : chunks) {
      filtered.clear();
      filter.feed(c, filtered);
      sent += filtered.size();
    }
    filtered.clear();
    filter.flush(filtered);
    sent += filtered.size();
    ok &= filter.removed() == 1 && sent == want;
  }
  if (!ok) state.SkipWithError("the filter did not remove exactly the usage chunk");
  set_stream_rates(state, s, chunks.size());
}

// Everything relay_body() does per chunk of such a chat stream: the tap, then the
// filter.
void BM_ChatTapAndFilter(benchmark::State& state, std::size_t chunk_size) {
  const Stream& s = inputs.chat;
  const std::vector<std::string> chunks = chunked(s, chunk_size);
  bool ok = true;
  std::string filtered;
  for (auto _ : state) {
    relay::sse::StreamTap tap;
    relay::sse::UsageChunkFilter filter;
    for (const std::string& c : chunks) {
      tap.feed(c);
      filtered.clear();
      filter.feed(c, filtered);
      benchmark::DoNotOptimize(filtered.data());
    }
    filtered.clear();
    filter.flush(filtered);
    ok &= tap.terminal_seen() && tap.usage().input_tokens == 2345 && filter.removed() == 1;
  }
  if (!ok) state.SkipWithError("the tap or the filter went wrong");
  set_stream_rates(state, s, chunks.size());
}

// The usage of a whole (non-streaming) JSON response, read once at its end.
void BM_UsageFromJsonBody(benchmark::State& state, const std::string* body) {
  bool ok = true;
  for (auto _ : state) {
    const relay::sse::Usage u = relay::sse::usage_from_json_body(*body);
    ok &= u.present && u.input_tokens == 2345 && u.cached_tokens == 1920;
    benchmark::DoNotOptimize(u);
  }
  if (!ok) state.SkipWithError("no usage read");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(body->size()));
  state.counters["body_bytes"] = static_cast<double>(body->size());
}

void register_benchmarks() {
  const std::pair<const char*, std::size_t> chunkings[] = {
      {"event", 0}, {"1460B", 1460}, {"16KiB", 16384}};
  for (const auto& [name, size] : chunkings)
    benchmark::RegisterBenchmark((std::string("BM_SseParser/chunks:") + name).c_str(), BM_SseParser,
                                 size)
        ->Unit(benchmark::kMicrosecond);
  for (const auto& [name, size] : chunkings)
    benchmark::RegisterBenchmark((std::string("BM_StreamTap/responses/chunks:") + name).c_str(),
                                 BM_StreamTap, size, &inputs.responses)
        ->Unit(benchmark::kMicrosecond);
  for (const auto& [name, size] : chunkings)
    benchmark::RegisterBenchmark((std::string("BM_StreamTap/chat/chunks:") + name).c_str(),
                                 BM_StreamTap, size, &inputs.chat)
        ->Unit(benchmark::kMicrosecond);
  for (const auto& [name, size] : chunkings)
    benchmark::RegisterBenchmark((std::string("BM_UsageChunkFilter/chunks:") + name).c_str(),
                                 BM_UsageChunkFilter, size)
        ->Unit(benchmark::kMicrosecond);
  for (const auto& [name, size] : chunkings)
    benchmark::RegisterBenchmark((std::string("BM_ChatTapAndFilter/chunks:") + name).c_str(),
                                 BM_ChatTapAndFilter, size)
        ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_UsageFromJsonBody/chat_short", BM_UsageFromJsonBody,
                               &inputs.chat_body_short);
  benchmark::RegisterBenchmark("BM_UsageFromJsonBody/chat_16KiB", BM_UsageFromJsonBody,
                               &inputs.chat_body_long);
  benchmark::RegisterBenchmark("BM_UsageFromJsonBody/responses", BM_UsageFromJsonBody,
                               &inputs.responses_body);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!load_inputs()) return 1;
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
