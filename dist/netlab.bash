# bash completion for netlab. The words come from netlab itself (`netlab __complete WORDS...`), so
# they follow its command table: subcommands, options, and the values that depend on the machine
# (step ids of the lab's tutorial, lab names, the lab's namespaces).
_netlab() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local IFS=$'\n' line out
    out=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
    COMPREPLY=()
    for line in $out; do
        case $line in
            __files__) COMPREPLY+=($(compgen -f -- "$cur")) ;;
            __commands__) COMPREPLY+=($(compgen -c -- "$cur")) ;;
            *) COMPREPLY+=("$line") ;;
        esac
    done
}
complete -F _netlab netlab
