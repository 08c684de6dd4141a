#include "base/did_you_mean.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace netlab {

namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Optimal string alignment distance ("nmae" is one edit from "name").
size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

}  // namespace

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
    const std::string w = lower(word);
    std::string best;
    size_t best_d = SIZE_MAX;
    for (auto& c : candidates) {
        size_t d = edit_distance(w, lower(c));
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    size_t limit = std::max<size_t>(1, w.size() / 3);
    if (best_d <= limit) return best;
    for (auto& c : candidates)
        if (w.size() >= 3 && lower(c).rfind(w, 0) == 0) return c;
    return {};
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
    std::string near = closest(word, candidates);
    return near.empty() ? std::string{} : " (did you mean '" + near + "'?)";
}

std::string unknown(const std::string& what, const std::string& word, const std::vector<std::string>& candidates) {
    return "unknown " + what + " '" + word + "'" + did_you_mean(word, candidates);
}

}  // namespace netlab
