# zsh in a terminal of the course's JupyterLab starts with ZDOTDIR set to this folder (terminal_env in
# course.py): read the learner's own ~/.zshenv, as zsh would have.
_camp_zdotdir="$ZDOTDIR"
ZDOTDIR="$HOME"
if [[ -f "$HOME/.zshenv" ]]; then
    source "$HOME/.zshenv"
fi
ZDOTDIR="$_camp_zdotdir"
unset _camp_zdotdir
