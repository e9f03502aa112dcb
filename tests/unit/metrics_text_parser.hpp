#pragma once
// A strict reader of the Prometheus text format for the metrics tests: it knows only what the
// format allows, independently of src/metrics, so a writer bug shows up as a parse error.
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::test {

using LabelMap = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  LabelMap labels;
  double value = 0;
};

struct Scrape {
  std::vector<Sample> samples;  // in the order written
  std::map<std::string, int> help_lines;
  std::map<std::string, std::string> types;
  std::map<std::string, int> type_lines;
  std::vector<std::string> errors;  // every line that broke the format, and why

  // The value of the sample with exactly these labels; nullopt when there is none.
  std::optional<double> get(std::string_view name, const LabelMap& labels = {}) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }
  // Samples of `name` whose labels include `subset`.
  std::vector<Sample> all(std::string_view name, const LabelMap& subset = {}) const {
    std::vector<Sample> out;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool match = true;
      for (const auto& [k, v] : subset) {
        auto it = s.labels.find(k);
        match = match && it != s.labels.end() && it->second == v;
      }
      if (match) out.push_back(s);
    }
    return out;
  }
  double sum(std::string_view name, const LabelMap& subset = {}) const {
    double total = 0;
    for (const auto& s : all(name, subset)) total += s.value;
    return total;
  }
};

namespace metrics_text_detail {

inline bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

inline std::string read_name(std::string_view line, std::size_t& i) {
  const std::size_t start = i;
  while (i < line.size() && name_char(line[i], i == start)) ++i;
  return std::string(line.substr(start, i - start));
}

inline std::optional<double> read_value(std::string_view text) {
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text.empty()) return std::nullopt;
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

// The family a sample belongs to: a histogram's _bucket, _sum and _count lines belong to it.
inline std::string family_of(const std::string& name,
                             const std::map<std::string, std::string>& types) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      std::string base = name.substr(0, name.size() - suffix.size());
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

// One sample line into `out`; an error message, or "" when it parsed.
inline std::string parse_sample(std::string_view line, Sample& out) {
  std::size_t i = 0;
  out.name = read_name(line, i);
  if (out.name.empty()) return "no metric name";
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      std::string label = read_name(line, i);
      if (label.empty() || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
        return "bad label";
      i += 2;
      std::string value;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\') {
          if (++i >= line.size()) return "escape at end";
          const char e = line[i];
          if (e != '\\' && e != '"' && e != 'n') return "unknown escape";
          value += e == 'n' ? '\n' : e;
        } else {
          value += line[i];
        }
        ++i;
      }
      if (i >= line.size()) return "unterminated label value";
      ++i;  // the closing quote
      if (!out.labels.emplace(label, value).second) return "duplicate label " + label;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return "unterminated labels";
    ++i;
  }
  if (i >= line.size() || line[i] != ' ') return "no space before the value";
  auto v = read_value(line.substr(i + 1));
  if (!v) return "bad value";
  out.value = *v;
  return "";
}

}  // namespace metrics_text_detail

inline Scrape parse_scrape(std::string_view text) {
  using namespace metrics_text_detail;
  Scrape scrape;
  if (!text.empty() && !text.ends_with('\n')) scrape.errors.push_back("no final newline");
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::size_t i = 7;
      const std::string name = read_name(line, i);
      if (name.empty() || i >= line.size() || line[i] != ' ') {
        scrape.errors.push_back("bad comment: " + std::string(line));
      } else if (line[2] == 'H') {
        ++scrape.help_lines[name];
      } else {
        ++scrape.type_lines[name];
        scrape.types[name] = std::string(line.substr(i + 1));
      }
      continue;
    }
    Sample s;
    if (std::string why = parse_sample(line, s); !why.empty()) {
      scrape.errors.push_back(why + ": " + std::string(line));
      continue;
    }
    if (!scrape.types.count(family_of(s.name, scrape.types)))
      scrape.errors.push_back("sample before its TYPE line: " + s.name);
    scrape.samples.push_back(std::move(s));
  }
  return scrape;
}

}  // namespace relay::test
