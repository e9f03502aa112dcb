#include "metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace relay::metrics {

namespace {

constexpr char kSeparator = '\xff';

std::vector<std::string> split_key(const std::string& key, std::size_t n) {
  std::vector<std::string> out;
  out.reserve(n);
  std::size_t start = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t end = key.find(kSeparator, start);
    if (end == std::string::npos) end = key.size();
    out.push_back(key.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

Family::Family(std::string name, std::string help, std::vector<std::string> label_names,
               std::size_t max_series)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      max_series_(max_series) {
  if (name_.empty() || max_series_ == 0)
    throw std::invalid_argument("metric family needs a name and max_series >= 1");
  for (std::size_t i = 0; i < label_names_.size(); ++i) {
    if (i > 0) other_key_ += kSeparator;
    other_key_ += kOther;
  }
}

std::size_t Family::series_count() const {
  std::lock_guard lock(mu_);
  return slots_.size();
}

std::string_view Family::key_for(std::span<const std::string_view> label_values) const {
  if (label_values.size() != label_names_.size())
    throw std::invalid_argument("metric " + name_ + ": wrong number of label values");
  thread_local std::string key;
  key.clear();
  for (std::size_t i = 0; i < label_values.size(); ++i) {
    if (i > 0) key += kSeparator;
    append_sanitized(key, label_values[i]);
  }
  return key;
}

std::size_t Family::slot_locked(std::string_view key, bool& created) {
  created = false;
  if (auto it = slots_.find(key); it != slots_.end()) return it->second;
  // The last slot is kept for "other", so that folding never needs a series past the cap.
  if (key != other_key_ && slots_.size() + 1 >= max_series_) {
    if (auto it = slots_.find(other_key_); it != slots_.end()) return it->second;
    key = other_key_;
  }
  created = true;
  const std::size_t slot = slots_.size();
  slots_.emplace(std::string(key), slot);
  return slot;
}

std::vector<std::pair<std::vector<std::string>, std::size_t>> Family::series_locked() const {
  std::vector<std::pair<std::vector<std::string>, std::size_t>> out;
  out.reserve(slots_.size());
  for (const auto& [key, slot] : slots_)
    out.emplace_back(split_key(key, label_names_.size()), slot);
  std::sort(out.begin(), out.end());
  return out;
}

void Family::append_header(std::string& out, std::string_view type) const {
  append_family_header(out, name_, help_, type);
}

std::vector<Label> Family::labels(const std::vector<std::string>& values, Label extra) const {
  std::vector<Label> out;
  out.reserve(values.size() + 1);
  for (std::size_t i = 0; i < values.size(); ++i) out.push_back({label_names_[i], values[i]});
  if (!extra.name.empty()) out.push_back(extra);
  return out;
}

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names, std::size_t max_series)
    : Family(std::move(name), std::move(help), std::move(label_names), max_series) {}

void CounterFamily::add(std::span<const std::string_view> label_values, double delta) {
  const std::string_view key = key_for(label_values);
  if (!std::isfinite(delta) || delta < 0) return;
  std::lock_guard lock(mu_);
  bool created = false;
  const std::size_t slot = slot_locked(key, created);
  if (created) values_.push_back(0);
  values_[slot] += delta;
}

void CounterFamily::render(std::string& out) const {
  std::vector<std::pair<std::vector<std::string>, std::size_t>> series;
  std::vector<double> values;
  {
    std::lock_guard lock(mu_);
    series = series_locked();
    values = values_;
  }
  append_header(out, "counter");
  for (const auto& [label_values, slot] : series)
    append_sample(out, name(), labels(label_values), values[slot]);
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds,
                                 std::size_t max_series)
    : Family(std::move(name), std::move(help), std::move(label_names), max_series),
      bounds_(std::move(bounds)) {
  std::erase_if(bounds_, [](double b) { return !std::isfinite(b); });
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
}

void HistogramFamily::observe(std::span<const std::string_view> label_values, double value) {
  const std::string_view key = key_for(label_values);
  if (std::isnan(value)) return;
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  std::lock_guard lock(mu_);
  bool created = false;
  const std::size_t slot = slot_locked(key, created);
  if (created) series_.push_back({std::vector<std::uint64_t>(bounds_.size(), 0), 0, 0});
  Series& s = series_[slot];
  if (bucket < bounds_.size()) ++s.counts[bucket];
  s.sum += value;
  ++s.count;
}

void HistogramFamily::render(std::string& out) const {
  std::vector<std::pair<std::vector<std::string>, std::size_t>> series;
  std::vector<Series> copy;
  {
    std::lock_guard lock(mu_);
    series = series_locked();
    copy = series_;
  }
  append_header(out, "histogram");
  const std::string bucket_name = name() + "_bucket";
  std::string le;
  for (const auto& [label_values, slot] : series) {
    const Series& s = copy[slot];
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < bounds_.size(); ++b) {
      cumulative += s.counts[b];
      le.clear();
      append_value(le, bounds_[b]);
      append_sample(out, bucket_name, labels(label_values, {"le", le}),
                    static_cast<double>(cumulative));
    }
    append_sample(out, bucket_name, labels(label_values, {"le", "+Inf"}),
                  static_cast<double>(s.count));
    append_sample(out, name() + "_sum", labels(label_values), s.sum);
    append_sample(out, name() + "_count", labels(label_values), static_cast<double>(s.count));
  }
}

}  // namespace relay::metrics
