# bash completion for xdpsecctl(8)

_xdpsecctl()
{
	local cur prev words cword
	_init_completion || return

	case $prev in
	-S|--socket) _filedir; return ;;
	-b|--batch) _filedir; return ;;
	esac

	# the first non-option word is the command
	local i cmd= sub= n=0
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-S|--socket|-b|--batch) ((i++)) ;;
		-*) ;;
		*) if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi; ((n++)) ;;
		esac
	done

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-S --socket -j --json -k --keys -b --batch -V --version -h --help' -- "$cur"))
		else
			COMPREPLY=($(compgen -W 'sa stats reasm status limits monitor help' -- "$cur"))
		fi
		return
	fi

	case $cmd in
	help) [[ $n -eq 1 ]] && COMPREPLY=($(compgen -W 'sa stats reasm status limits monitor' -- "$cur")) ;;
	stats) COMPREPLY=($(compgen -W '--reset --prometheus' -- "$cur")) ;;
	limits)
		if [[ -z $sub ]]; then
			COMPREPLY=($(compgen -W 'get set' -- "$cur"))
		elif [[ $sub == set ]]; then
			COMPREPLY=($(compgen -W 'timeout mem-cap max-frags max-datagrams src-share replay-window' -- "$cur"))
		fi ;;
	sa)
		if [[ -z $sub ]]; then
			COMPREPLY=($(compgen -W 'add del get list flush stats count' -- "$cur"))
			return
		fi
		case $prev in
		proto) COMPREPLY=($(compgen -W 'esp' -- "$cur")); return ;;
		mode) COMPREPLY=($(compgen -W 'transport tunnel' -- "$cur")); return ;;
		aead) COMPREPLY=($(compgen -W "'rfc4106(gcm(aes))' 'rfc7539esp(chacha20,poly1305)' 'rfc4543(gcm(aes))'" -- "$cur")); return ;;
		enc) COMPREPLY=($(compgen -W "'cbc(aes)' 'ecb(cipher_null)'" -- "$cur")); return ;;
		auth|auth-trunc) COMPREPLY=($(compgen -W "'hmac(sha1)' 'hmac(sha256)' 'hmac(sha384)' 'hmac(sha512)'" -- "$cur")); return ;;
		encap) COMPREPLY=($(compgen -W 'espinudp' -- "$cur")); return ;;
		flag) COMPREPLY=($(compgen -W 'esn noecn nopmtudisc align4 af-unspec' -- "$cur")); return ;;
		src|dst|spi|reqid|replay-window) return ;;
		esac
		case $sub in
		add) COMPREPLY=($(compgen -W 'src dst proto spi reqid mode aead enc auth-trunc auth encap replay-window flag' -- "$cur")) ;;
		del|get|stats) COMPREPLY=($(compgen -W 'src dst proto spi --keys' -- "$cur")) ;;
		list) COMPREPLY=($(compgen -W '--keys' -- "$cur")) ;;
		esac ;;
	esac
} &&
complete -F _xdpsecctl xdpsecctl
