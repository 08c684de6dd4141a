// exec, shell, curl, pod: working inside the lab's namespaces.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <limits>
#include <iostream>
#include <map>

#include "cli/cli.h"
#include "base/error.h"
#include "netutil/netns.h"
#include "pods/http_client.h"
#include "pods/pod_server.h"

namespace netlab::cli {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void exec_in(const std::string& real, std::vector<std::string> argv) {
    net::netns_enter_for_exec(real);
    std::vector<char*> av;
    for (auto& a : argv) av.push_back(a.data());
    av.push_back(nullptr);
    ::execvp(av[0], av.data());
    throw Error("exec " + argv[0] + " in netns " + real + ": " + errno_text(errno),
                errno == ENOENT ? "is " + argv[0] + " installed?" : "");
}

int curl(Invocation& g, const std::string& in, int count, const std::string& url_text) {
    need_root("curl");
    auto url = pods::parse_url(url_text);
    std::string real = resolve_ns(g.names(), in);
    std::map<std::string, int> dist;
    int failed = 0, sent = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    {
        net::NetnsGuard guard(real);
        for (; sent < count && std::chrono::steady_clock::now() < deadline; ++sent) {
            auto r = pods::http_get(url.host, url.port, url.path, std::chrono::milliseconds(2000));
            if (!r.ok) {
                ++failed;
                std::cout << (count > 1 ? std::to_string(sent + 1) + "  " : "") << "no reply: " << r.error << "\n";
                continue;
            }
            ++dist[r.pod.empty() ? "(not a netlab pod)" : r.pod];
            if (count == 1) std::cout << r.body << (r.body.ends_with("\n") ? "" : "\n");
            else
                std::cout << sent + 1 << "  " << r.pod << " at " << r.pod_addr << ":" << r.pod_port << " saw client "
                          << r.client_addr << ":" << r.client_port << "\n";
        }
    }
    if (count > 1) {
        std::cout << "\n" << sent << " requests from " << real << ":\n";
        for (auto& [p, n] : dist) std::cout << "  " << p << ": " << n << " (" << (100 * n / sent) << "%)\n";
        if (failed) std::cout << "  no reply: " << failed << "\n";
        if (sent < count) std::cout << "  (stopped after 60 s)\n";
    }
    return failed ? 1 : 0;
}

}  // namespace

void add_namespace_commands(CommandTable& table) {
    const std::string ns_help = "namespace: netlab (the lab host, default), netns_dustin, netns_leah, world";
    struct ExecArgs {
        std::string in;
        std::vector<std::string> cmd;
    };
    auto ea = std::make_shared<ExecArgs>();
    table.push_back({"exec", "run a command in the lab host or a pod namespace: netlab exec [--in NS] -- CMD...",
                     {value(Kind::Namespace, "--in", ns_help, &ea->in),
                      words("command", "the command and its arguments", &ea->cmd).required()},
                     [ea](Invocation& g) -> int {
                         need_root("exec");
                         exec_in(resolve_ns(g.names(), ea->in), ea->cmd);
                     }});

    auto shell_in = std::make_shared<std::string>();
    table.push_back({"shell", "an interactive shell in the lab host (or --in NS); the prompt says where",
                     {value(Kind::Namespace, "--in", ns_help, shell_in.get())},
                     [shell_in](Invocation& g) -> int {
                         need_root("shell");
                         auto names = g.names();
                         std::string real = resolve_ns(names, *shell_in);
                         fs::path rc = g.lab_dir() / "shellrc";
                         fs::create_directories(rc.parent_path());
                         std::string label = real == names.ns(lab::LabNames::kHost) ? "lab host " + real : real;
                         std::ofstream(rc) << "[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc\n"
                                           << "[ -f ~/.bashrc ] && . ~/.bashrc\n"
                                           << "PS1='(netlab: " << label << ") \\w\\$ '\n"
                                           << "echo \"netlab: a shell in " << label
                                           << "; the article's commands work here. exit or Ctrl-D leaves.\"\n";
                         ::setenv("NETLAB_NETNS", real.c_str(), 1);
                         exec_in(real, {"bash", "--rcfile", rc.string(), "-i"});
                     }});

    struct CurlArgs {
        std::string in, url;
        int count = 1;
    };
    auto ca = std::make_shared<CurlArgs>();
    table.push_back({"curl", "HTTP GET, one new connection per request; shows which pod answered",
                     {value(Kind::Namespace, "--in", "namespace to send from (default: the lab host)", &ca->in),
                      number(Kind::Count, "-n,--count", "number of requests (1..10000)", &ca->count, 1, 10000),
                      value(Kind::Url, "url", "e.g. 10.100.100.100:8080", &ca->url).required()},
                     [ca](Invocation& g) { return curl(g, ca->in, ca->count, ca->url); }});

    auto po = std::make_shared<pods::PodServerOptions>();
    auto port = std::make_shared<int>(po->port);
    table.push_back({"pod", "run an HTTP pod in the current namespace (netlab starts these itself)",
                {value(Kind::Name, "--name", "pod name it reports", &po->name).required(),
                 number(Kind::Port, "--port", "TCP port (default 8080)", port.get(), 1, 65535),
                 value(Kind::Address, "--address", "listen address (default 0.0.0.0)", &po->address),
                 number(Kind::Fd, "--listen-fd",
                        "serve this inherited listening TCP socket instead of opening one (used by netlab run)",
                        &po->listen_fd, 0, std::numeric_limits<int>::max()),
                 number(Kind::Fd, "--ready-fd",
                        "write one byte to this inherited pipe once serving, then close it (used by netlab run)",
                        &po->ready_fd, 0, std::numeric_limits<int>::max())},
                [po, port](Invocation&) {
                    po->port = static_cast<uint16_t>(*port);
                    return pods::run_pod_server(*po);
                }});
}

}  // namespace netlab::cli
