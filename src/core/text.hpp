// Small text helpers used across the CLI and the core.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace corescope {

std::string join(const std::vector<std::string>& parts, const std::string& sep);
std::vector<std::string> split(const std::string& s, char sep);
std::string json_escape(const std::string& s);
// {"a":"1","b":"x"} from a string map, keys sorted.
// `text` with a '\n' wherever its next word would pass `width` columns; its own breaks stay.
std::string wrapped(const std::string& text, std::size_t width);
std::string to_json(const std::map<std::string, std::string>& values);
// The map to_json wrote (a flat object of strings); an empty map for anything else.
std::map<std::string, std::string> from_json(const std::string& text);
// 2097152 -> "2Mi", 40000 -> "40k", 1000 -> "1k", 100 -> "100": exact, in the largest unit that
// divides the count (powers of 1024 first).
std::string compact_count(std::int64_t n);
// 1234567 -> "1.18 MiB"; 2.5e-6 -> "2.50 us".
std::string human_bytes(double bytes);
std::string human_seconds(double s);
// A signal's name, "SIGSEGV" ("signal 64" for one without a name).
std::string signal_name(int sig);
// A signal with its number, "signal 11 (SIGSEGV)".
std::string signal_text(int sig);
// ISO 8601 UTC timestamp of now, with milliseconds.
std::string iso_now();
// Parses "4096", "4K", "16M", "1G" (powers of 1024 for K/M/G); UsageError on junk. `what` names
// the option in the message.
std::uint64_t parse_count(const std::string& text, const std::string& what);

}  // namespace corescope
