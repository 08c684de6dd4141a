// Owners of libmnl and libnftnl objects, each freed by its library's function, and the check of an
// allocation. Internal to netutil's nft_* files.
#pragma once

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "base/error.h"

namespace netlab::net::nft {

struct MnlSocketDeleter {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
struct TableDeleter {
    void operator()(nftnl_table* t) const { nftnl_table_free(t); }
};
struct ChainDeleter {
    void operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
};
struct RuleDeleter {
    void operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
};
struct ExprDeleter {
    void operator()(nftnl_expr* e) const { nftnl_expr_free(e); }
};
struct ExprIterDeleter {
    void operator()(nftnl_expr_iter* i) const { nftnl_expr_iter_destroy(i); }
};
struct BatchDeleter {
    void operator()(nftnl_batch* b) const { nftnl_batch_free(b); }
};
struct UdataDeleter {
    void operator()(nftnl_udata_buf* b) const { nftnl_udata_buf_free(b); }
};
struct GenDeleter {
    void operator()(nftnl_gen* g) const { nftnl_gen_free(g); }
};
struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

using MnlSocket = std::unique_ptr<mnl_socket, MnlSocketDeleter>;
using Table = std::unique_ptr<nftnl_table, TableDeleter>;
using Chain = std::unique_ptr<nftnl_chain, ChainDeleter>;
using Rule = std::unique_ptr<nftnl_rule, RuleDeleter>;
using Expr = std::unique_ptr<nftnl_expr, ExprDeleter>;
using ExprIter = std::unique_ptr<nftnl_expr_iter, ExprIterDeleter>;
using Batch = std::unique_ptr<nftnl_batch, BatchDeleter>;
using Udata = std::unique_ptr<nftnl_udata_buf, UdataDeleter>;
using Gen = std::unique_ptr<nftnl_gen, GenDeleter>;
using MallocBuf = std::unique_ptr<void, FreeDeleter>;

// P, or Error("allocate WHAT: out of memory") when it is null.
template <class T>
T checked(T p, const char* what) {
    if (!p) throw Error(std::string("allocate ") + what + ": out of memory");
    return p;
}

}  // namespace netlab::net::nft
