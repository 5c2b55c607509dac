package main

// The completion scripts of `entry completion SHELL`. Each one only asks
// entry (`entry completion __complete WORD...`) and hands the answer to the
// shell: what to offer is decided in completion.go, from the flag
// definitions themselves.

const bashCompletion = `# bash completion for entry (entry completion bash)
_entry() {
    local cur=${COMP_WORDS[COMP_CWORD]} line directive=:none
    [[ $cur == "=" ]] && cur=
    local IFS=$'\n'
    local -a out
    out=($("${COMP_WORDS[0]}" completion __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)) || return 0
    COMPREPLY=()
    for line in "${out[@]}"; do
        case $line in
            :*) directive=$line ;;
            *) COMPREPLY+=("${line%%$'\t'*}") ;;
        esac
    done
    case $directive in
        :files) COMPREPLY+=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null ;;
        :dirs) COMPREPLY+=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null ;;
    esac
    # role= and --flag= take a value right after them.
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
complete -F _entry entry
`

const zshCompletion = `#compdef entry
# zsh completion for entry (entry completion zsh)
_entry() {
    local -a out cands
    local line directive=:none
    out=("${(@f)$("${words[1]}" completion __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    for line in "${out[@]}"; do
        case $line in
            :*) directive=$line ;;
            ?*) cands+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}") ;;
        esac
    done
    (( ${#cands} )) && _describe -t entry 'entry' cands
    case $directive in
        :files) [[ ${words[CURRENT]} == -*=* ]] && compset -P '*='; _files ;;
        :dirs) [[ ${words[CURRENT]} == -*=* ]] && compset -P '*='; _files -/ ;;
    esac
    return 0
}
if [[ "${funcstack[1]}" == "_entry" ]]; then
    _entry "$@"
else
    compdef _entry entry
fi
`

const fishCompletion = `# fish completion for entry (entry completion fish)
function __entry_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l directive :none
    for line in ($tokens[1] completion __complete $tokens[2..-1] $current 2>/dev/null)
        if string match -q -- ':*' $line
            set directive $line
        else
            echo $line
        end
    end
    # What precedes the value in --flag=VALUE ("" for a word of its own).
    set -l prefix (string match -r -- '^-[^=]*=' $current; or echo '')
    set -l value (string replace -r -- '^-[^=]*=' '' $current)
    switch $directive
        case :files
            for path in (__fish_complete_path $value)
                echo $prefix$path
            end
        case :dirs
            for path in (__fish_complete_directories $value)
                echo $prefix$path
            end
    end
end
complete -c entry -f -a '(__entry_complete)'
`
