// Small text helpers used across the CLI and the core.
#include "core/text.hpp"

#include <string.h>

#include <cctype>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include "core/errors.hpp"

namespace corescope {

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string to_json(const std::map<std::string, std::string>& values) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : values) {
    if (!first) out += ",";
    first = false;
    out += "\"" + json_escape(k) + "\":\"" + json_escape(v) + "\"";
  }
  return out + "}";
}

namespace {
// A JSON string starting at text[i] (the opening quote); advances i past it. False on junk.
bool json_string(const std::string& text, std::size_t& i, std::string& out) {
  if (i >= text.size() || text[i] != '"') return false;
  for (++i; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      ++i;
      return true;
    }
    if (c == '\\') {
      if (++i >= text.size()) return false;
      c = text[i];
      if (c == 'n')
        c = '\n';
      else if (c == 't')
        c = '\t';
      else if (c == 'u') {
        if (i + 4 >= text.size()) return false;
        c = static_cast<char>(std::stoi(text.substr(i + 1, 4), nullptr, 16));
        i += 4;
      }
    }
    out += c;
  }
  return false;
}
}  // namespace

std::string wrapped(const std::string& text, std::size_t width) {
  std::string out, word;
  std::size_t column = 0;
  const auto flush = [&] {
    if (word.empty()) return;
    if (column > 0 && column + 1 + word.size() > width) {
      out += '\n';
      column = 0;
    }
    if (column > 0) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    word.clear();
  };
  for (const char c : text) {
    if (c != ' ' && c != '\n') {
      word += c;
      continue;
    }
    flush();
    if (c == '\n') {
      out += '\n';
      column = 0;
    }
  }
  flush();
  return out;
}

std::map<std::string, std::string> from_json(const std::string& text) {
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  if (text.empty() || text[i++] != '{') return {};
  while (i < text.size() && text[i] != '}') {
    std::string key, value;
    if (!json_string(text, i, key) || i >= text.size() || text[i++] != ':' ||
        !json_string(text, i, value))
      return {};
    out[key] = value;
    if (i < text.size() && text[i] == ',') ++i;
  }
  return out;
}

std::string compact_count(std::int64_t n) {
  if (n == 0) return "0";
  const std::pair<std::int64_t, const char*> units[] = {{std::int64_t{1} << 30, "Gi"},
                                                        {std::int64_t{1} << 20, "Mi"},
                                                        {std::int64_t{1} << 10, "Ki"},
                                                        {1000000000, "G"},
                                                        {1000000, "M"},
                                                        {1000, "k"}};
  for (const auto& [size, suffix] : units)
    if (n % size == 0) return std::to_string(n / size) + suffix;
  return std::to_string(n);
}

std::string human_bytes(double bytes) {
  if (!(bytes >= 0)) return "-";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
  return buf;
}

std::string human_seconds(double s) {
  if (!std::isfinite(s)) return "-";
  char buf[32];
  if (s >= 1.0)
    std::snprintf(buf, sizeof buf, "%.3f s", s);
  else if (s >= 1e-3)
    std::snprintf(buf, sizeof buf, "%.3f ms", s * 1e3);
  else if (s >= 1e-6)
    std::snprintf(buf, sizeof buf, "%.3f us", s * 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1f ns", s * 1e9);
  return buf;
}

std::string iso_now() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::uint64_t parse_count(const std::string& text, const std::string& what) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0)
    throw UsageError(what + " '" + text + "': expected a count like 4096, 64K, 16M or 1G");
  std::uint64_t mult = 1;
  const std::string suffix = text.substr(i);
  if (suffix == "K" || suffix == "k")
    mult = 1ull << 10;
  else if (suffix == "M" || suffix == "m")
    mult = 1ull << 20;
  else if (suffix == "G" || suffix == "g")
    mult = 1ull << 30;
  else if (!suffix.empty())
    throw UsageError(what + " '" + text + "': unknown suffix '" + suffix + "' (use K, M or G)");
  const std::string digits = text.substr(0, i);
  if (digits.size() > 18) throw UsageError(what + " '" + text + "' is absurdly large");
  const std::uint64_t n = std::stoull(digits);
  if (n > std::numeric_limits<std::uint64_t>::max() / mult)
    throw UsageError(what + " '" + text + "' is absurdly large");
  return n * mult;
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string signal_text(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return "signal " + std::to_string(sig) +
         (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
}

}  // namespace corescope
