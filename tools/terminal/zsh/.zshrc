# zsh in a terminal of the course's JupyterLab: the learner's own ~/.zshrc, then the course's programs first on
# PATH, so that python, tensorboard and torchrun are the course's even when ~/.zshrc activates another
# environment (conda's base, say). ZDOTDIR goes back to the home folder for the rest of the session.
ZDOTDIR="$HOME"
if [[ -f "$HOME/.zshrc" ]]; then
    source "$HOME/.zshrc"
fi
if [[ -n "$CAMP_SCRIPTS" ]]; then
    path=("$CAMP_SCRIPTS" $path)
    export PATH
fi
