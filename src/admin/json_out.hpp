#pragma once
// A small JSON object/array writer for the admin API's responses and the audit details: values
// are escaped with relay::json_escape, so no caller builds JSON by hand.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::admin {

class JsonObject {
 public:
  JsonObject& str(std::string_view key, std::string_view value);
  JsonObject& num(std::string_view key, std::int64_t value);
  JsonObject& boolean(std::string_view key, bool value);
  JsonObject& null(std::string_view key);
  JsonObject& opt_num(std::string_view key, std::optional<std::int64_t> value);
  // value must be JSON already (an object or array from this file).
  JsonObject& raw(std::string_view key, std::string_view json);
  bool empty() const { return body_.empty(); }
  std::string done() const { return "{" + body_ + "}"; }

 private:
  void key(std::string_view k);
  std::string body_;
};

class JsonArray {
 public:
  JsonArray& raw(std::string_view json);
  JsonArray& str(std::string_view value);
  std::string done() const { return "[" + body_ + "]"; }

 private:
  std::string body_;
};

}  // namespace relay::admin
