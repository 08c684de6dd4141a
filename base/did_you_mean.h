// "did you mean": the closest name to a mistyped one, for every error that names an unknown thing
// (a step, a command, an option, a tutorial field, a quiz answer kind).
#pragma once

#include <string>
#include <vector>

namespace netlab {

// The closest candidate by edit distance (insertions, deletions, substitutions, adjacent swaps), or
// "" when none is close enough: at most a third of the word wrong (at least one edit), or the word is
// a prefix (3 characters or more) of a candidate. Case is ignored when comparing ("HAIRPIN" finds
// "hairpin").
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" for the closest candidate, or "" when none is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// "unknown <what> 'word'" followed by did_you_mean(word, candidates).
std::string unknown(const std::string& what, const std::string& word, const std::vector<std::string>& candidates);

}  // namespace netlab
