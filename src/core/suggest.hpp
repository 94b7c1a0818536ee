// Did-you-mean for names the user types (commands, options, kernels, modes, channels, kernel
// parameters): every lookup that refuses a name asks here, so that all of them suggest alike.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace corescope {

// Edits (insert, delete, substitute, swap two adjacent characters) from a to b: the optimal
// string alignment form of Damerau-Levenshtein, so that "wokrers" is one edit from "workers".
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate nearest to `typed`, or "" when none is near enough to be what was meant: at most
// a third of the longer name's length in edits (at least 1, at most 3), or a candidate that
// `typed` starts (an abbreviation of 3 or more characters). Ties go to the first listed; a
// `typed` that is itself a candidate gets "".
std::string closest(const std::string& typed, const std::vector<std::string>& candidates);

// "did you mean 'threads'?" for the candidate `closest` picks, written between `before` and
// `after`; "" when it has none. Every did-you-mean is worded here.
std::string did_you_mean(const std::string& typed, const std::vector<std::string>& candidates,
                         const std::string& before = "'", const std::string& after = "'");

// "unknown mode 'thread'; did you mean 'threads'? valid modes: serial, threads, ..." (the
// did-you-mean part only when `closest` has one). `what` is singular; its plural adds an s.
std::string unknown_name(const std::string& what, const std::string& typed,
                         const std::vector<std::string>& valid);

}  // namespace corescope
