"""Learner-facing messages of camp_utils in the learner's language: English, or Chinese with ``CAMP_LANG=zh``.

``python course.py lab --lang zh`` starts JupyterLab with ``CAMP_LANG=zh`` (and
``--lang en``, the default, with ``CAMP_LANG=en``), so a learner who works in the
Chinese edition reads what :func:`camp_utils.tb.check_install` finds, the
random-weights warnings of :mod:`camp_utils.weights` and the verdicts of
:func:`camp_utils.homework.check_homework` in Chinese. Unset or ``en``, every
message is the English text, byte for byte as before: the committed outputs of
both editions hold the English ones, so the test suite runs every notebook
without ``CAMP_LANG`` (``notebooks/conftest.py``).

The language is read when a message is made (changing ``os.environ`` in a
running kernel takes effect at once). Accepted values, case-insensitive:
``en``, ``en_US``, ``en-GB``, ... and ``zh``, ``zh_CN``, ``zh-Hans``,
``zh_CN.UTF-8``, ... Any other value falls back to English with one
:class:`UserWarning` that names it: a message that helps the learner must never
fail because of a setting. Code, names, paths and quoted errors stay as they
are inside the Chinese messages (a learner searches for them).

Messages are kept by key in :data:`MESSAGES`, each with the same ``{fields}``
in every language (``tests/test_messages.py`` checks it)::

    say("install.missing_package", name="torch")
"""
from __future__ import annotations

import os
import string
import warnings

__all__ = ["LANGUAGES", "VARIABLE", "MESSAGES", "language", "say"]

VARIABLE = "CAMP_LANG"
LANGUAGES = ("en", "zh")
_SIMPLIFIED_CHINESE = ("zh", "zh_cn", "zh_sg", "zh_hans", "zh_hans_cn")
_warned: set[str] = set()


def language() -> str:
    """``"en"`` or ``"zh"``, from ``$CAMP_LANG`` (unset or empty: ``"en"``; unknown: ``"en"`` and a warning)."""
    value = os.environ.get(VARIABLE, "").strip()
    if not value:
        return "en"
    base = value.lower().replace("-", "_").split(".")[0].split("@")[0]  # zh_CN.UTF-8 -> zh_cn
    if base == "en" or base.startswith("en_"):
        return "en"
    if base in _SIMPLIFIED_CHINESE:
        return "zh"
    if value not in _warned:
        _warned.add(value)
        warnings.warn(f"{VARIABLE}={value!r} is not a language of the course messages "
                      f"({', '.join(LANGUAGES)}, e.g. zh_CN); using English", UserWarning, stacklevel=3)
    return "en"


def say(key: str, **fields) -> str:
    """The message ``key`` in the learner's language, with ``fields`` filled in.

    Raises:
        KeyError: an unknown key (a typo in camp_utils, not the learner's mistake).
    """
    texts = MESSAGES[key]
    return texts[language()].format(**fields)


def fields_of(template: str) -> set[str]:
    """The names of the ``{fields}`` a template uses (for the tests)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


# Each entry: key -> {"en": ..., "zh": ...}. The English texts are the messages as they were before
# translation; do not change one without re-running the notebooks that print it.
MESSAGES: dict[str, dict[str, str]] = {
    # --- camp_utils.tb.check_install ------------------------------------------------------------
    "install.missing_package": {
        "en": "package '{name}' is not installed in this Python; run "
              "`python -m pip install -r requirements.txt` from the project folder",
        "zh": "这个 Python 里没有安装包 '{name}'：请在项目文件夹（含有 course.py 的那个）里运行 "
              "`python -m pip install -r requirements.txt`",
    },
    "install.no_program": {
        "en": "the `tensorboard` program was not found next to this Python nor on PATH; "
              "install tensorboard or set TENSORBOARD_BINARY to its full path",
        "zh": "在这个 Python 旁边和 PATH 上都找不到 `tensorboard` 程序：请安装 tensorboard，"
              "或者把环境变量 TENSORBOARD_BINARY 设为它的完整路径",
    },
    "install.problem": {"en": "problem: {problem}", "zh": "问题：{problem}"},
    "install.all_good": {"en": "All good: ready for the TensorBoard lessons.",
                         "zh": "一切正常：可以开始 TensorBoard 的几课了。"},
    "install.missing": {"en": "MISSING", "zh": "未安装（MISSING）"},
    "install.program": {"en": "tensorboard program: {state}", "zh": "tensorboard 程序：{state}"},
    "install.found": {"en": "found", "zh": "已找到"},
    "install.not_found": {"en": "NOT FOUND", "zh": "未找到（NOT FOUND）"},

    # --- camp_utils.weights ---------------------------------------------------------------------
    "models.random_weights": {
        "en": "AlexNet has RANDOM weights, not ImageNet's: {reason}",
        "zh": "AlexNet 用的是随机权重（RANDOM weights），不是 ImageNet 上训练好的权重：{reason}。"
              "它给出的类别和特征图都没有意义",
    },
    "models.not_published": {
        "en": "the cached file {path} is not the published one (its sha256 starts with {actual}, "
              "the file name says {expected}); delete it and call alexnet(download=True)",
        "zh": "缓存文件 {path} 不是官方发布的那个（它的 sha256 以 {actual} 开头，文件名里写的是 {expected}）："
              "请删掉它，再调用 alexnet(download=True)",
    },
    "models.unloadable": {
        "en": "the cached file {path} could not be loaded ({error})",
        "zh": "缓存文件 {path} 无法加载（{error}）",
    },
    "models.download_failed": {
        "en": "downloading them failed ({error})",
        "zh": "下载权重失败（{error}）；没有网络时，可以在能联网的机器上下载后复制到 PyTorch 的缓存文件夹",
    },
    "models.not_cached": {
        "en": "they are not in PyTorch's cache ({path}) and downloads are off; "
              "call alexnet(download=True) once with internet access",
        "zh": "PyTorch 的缓存（{path}）里没有这些权重，而且没有允许下载：请在能联网时调用一次 "
              "alexnet(download=True)",
    },
    "models.ignoring_cache": {
        "en": "ignoring the cached model '{path}': {why}; training a new one (about half a minute)",
        "zh": "不使用缓存的模型 '{path}'：{why}；现在重新训练一个（大约半分钟）",
    },

    "models.random_alexnet_note": {
        "en": "-> RANDOM weights: the feature maps below are random filters of the photo, "
              "and any class AlexNet names is meaningless.",
        "zh": "-> 随机权重（RANDOM weights）：下面的特征图只是照片经过随机卷积核的结果，"
              "AlexNet 给出的任何类别都没有意义。",
    },

    # --- camp_utils.data ------------------------------------------------------------------------
    "data.not_found": {
        "en": "{pretty} was not found in '{folder}'. Either copy the dataset files there "
              "(as torchvision lays them out), or call load_dataset({name!r}, download=True) "
              "on a machine with internet. Offline, use the embedded ShapesDataset instead.",
        "zh": "在 '{folder}' 中没有找到 {pretty}。可以把数据集文件（按 torchvision 的目录结构）复制到那里，"
              "或者在能联网的机器上调用 load_dataset({name!r}, download=True)。离线时请改用课程内置的 ShapesDataset。",
    },
    "data.download_failed": {
        "en": "downloading {pretty} into '{folder}' failed ({error}). Are you offline? "
              "Copy the files there by hand, or use the embedded ShapesDataset.",
        "zh": "把 {pretty} 下载到 '{folder}' 失败（{error}）。是不是没有联网？"
              "请手动把文件复制到那里，或者改用课程内置的 ShapesDataset。",
    },
    "data.no_folder": {
        "en": "image folder '{folder}' does not exist; expected {layout}",
        "zh": "图像文件夹 '{folder}' 不存在；应当是 {layout} 这样的结构",
    },
    "data.not_a_folder": {
        "en": "image folder '{folder}' is a file, not a folder; expected {layout}",
        "zh": "图像文件夹 '{folder}' 是一个文件，不是文件夹；应当是 {layout} 这样的结构",
    },
    "data.no_class_folders": {
        "en": "image folder '{folder}' has no class sub-folders; expected {layout}",
        "zh": "图像文件夹 '{folder}' 里没有按类别分的子文件夹；应当是 {layout} 这样的结构",
    },
    "data.no_images": {
        "en": "the class folders in '{folder}' hold no image that ImageFolder loads ({extensions}){found}. "
              "Convert them, e.g. to .png",
        "zh": "'{folder}' 的类别子文件夹里没有 ImageFolder 能读取的图像（{extensions}）{found}。"
              "请先转换格式，例如转成 .png",
    },
    "data.found_only": {"en": "; found only {suffixes} files", "zh": "；只找到 {suffixes} 文件"},
    "data.empty": {"en": "; they are empty", "zh": "；它们是空的"},
    "data.no_suffix": {"en": "(no suffix)", "zh": "（无扩展名）"},
    "data.nothing_to_tile": {"en": "{where}: nothing to tile. {reason}", "zh": "{where}：没有可以拼接的图像。{reason}"},
    "data.cifar_not_set": {"en": "CIFAR-10 (MY_FOLDER is not set)", "zh": "CIFAR-10（没有设置 MY_FOLDER）"},

    # --- camp_utils.homework.check_homework -----------------------------------------------------
    "hw.result": {"en": "Lesson {lesson} homework: {message}", "zh": "第{lesson}课作业：{message}"},
    "hw.no_folder": {
        "en": "there is no folder {name!r} where the homework should write ({folder}); run the homework cell first",
        "zh": "作业应当写入的文件夹 {name!r} 不存在（{folder}）：请先运行作业的单元格",
    },
    "hw.no_events": {
        "en": "no event files in {name}/ yet: did the writer write there (log_dir), and was it flushed or closed?",
        "zh": "{name}/ 里还没有事件文件：writer 是写到这里的吗（log_dir）？它 flush 或 close 了吗？",
    },
    "hw.no_scalars": {
        "en": "the event files hold no scalars yet: nothing flushed yet? call writer.flush() "
              "or writer.close() (or use `with run_writer(...) as writer:`)",
        "zh": "事件文件里还没有标量：是不是还没 flush？请调用 writer.flush() 或 writer.close()"
              "（或者用 `with run_writer(...) as writer:`）",
    },
    "hw19.no_lr": {
        "en": "no 'LearningRate' curve in this run: log the lr every epoch (fit(..., writer=writer) does it)",
        "zh": "这个 run 里没有 'LearningRate' 曲线：请每个 epoch 记录一次学习率（fit(..., writer=writer) 会做这件事）",
    },
    "hw19.few_epochs": {
        "en": "only {count} epoch(s) of 'LearningRate': train for several epochs (the lesson uses 8)",
        "zh": "'LearningRate' 只有 {count} 个 epoch：请多训练几个 epoch（本课用 8 个）",
    },
    "hw19.rises": {
        "en": "the lr rises after epoch {epoch} ({before} -> {after}): ReduceLROnPlateau only lowers it; "
              "is this run another scheduler (OneCycleLR, a warm-up)?",
        "zh": "学习率在第 {epoch} 个 epoch 之后上升了（{before} -> {after}）：ReduceLROnPlateau 只会降低它；"
              "这个 run 用的是不是别的调度器（OneCycleLR、预热）？",
    },
    "hw19.never_changed": {
        "en": "the lr never changed ({lr} in all {count} epochs): ReduceLROnPlateau cuts it when "
              "the validation loss has not improved for `patience` epochs; build it with patience=1, pass it "
              "to fit(..., scheduler=...) (fit calls scheduler.step(valid_loss)) and train a few more epochs",
        "zh": "学习率从未变化（{count} 个 epoch 都是 {lr}）：验证损失连续 `patience` 个 epoch 没有改善时，"
              "ReduceLROnPlateau 才会降低它；请用 patience=1 构建它，传给 fit(..., scheduler=...)"
              "（fit 会调用 scheduler.step(valid_loss)），再多训练几个 epoch",
    },
    "hw19.no_valid": {
        "en": "no validation loss in this run (Loss_valid): ReduceLROnPlateau watches it; "
              "give fit a valid_loader and the writer",
        "zh": "这个 run 里没有验证损失（Loss_valid）：ReduceLROnPlateau 监控的就是它；"
              "请把 valid_loader 和 writer 都传给 fit",
    },
    "hw19.other_scheduler": {
        "en": "this run was trained with {scheduler} (fit wrote it to the run's TEXT tab, tag 'scheduler'): "
              "the homework asks for ReduceLROnPlateau, which cuts the lr when the validation loss stops improving",
        "zh": "这个 run 是用 {scheduler} 训练的（fit 把它写进了 run 的 TEXT 页，tag 为 'scheduler'）："
              "作业要求的是 ReduceLROnPlateau——验证损失不再改善时它才降低学习率",
    },
    "hw19.cut_after_first": {
        "en": "the lr was cut right after the first epoch: ReduceLROnPlateau never does that (the first "
              "validation loss is always its best so far); is this run another scheduler (StepLR(step_size=1), "
              "ExponentialLR, cosine)?",
        "zh": "学习率在第一个 epoch 之后就被降低了：ReduceLROnPlateau 从不这样做"
              "（第一个验证损失总是到那时为止最好的）；"
              "这个 run 用的是不是别的调度器（StepLR(step_size=1)、ExponentialLR、余弦）？",
    },
    "hw19.cut_after_improvement": {
        "en": "the lr was cut after epoch {epoch} although the validation loss improved in that epoch "
              "({best} -> {loss}, its best so far): ReduceLROnPlateau cuts only after epochs without improvement. "
              "Is this run another scheduler (StepLR, MultiStepLR, ExponentialLR, cosine), or was "
              "scheduler.step() given something other than the validation loss?",
        "zh": "学习率在第 {epoch} 个 epoch 之后被降低了，可是验证损失在那个 epoch 里改善了"
              "（{best} -> {loss}，是到那时为止最好的）：ReduceLROnPlateau 只在没有改善的 epoch 之后才降低学习率。"
              "这个 run 用的是不是别的调度器（StepLR、MultiStepLR、ExponentialLR、余弦），"
              "或者传给 scheduler.step() 的不是验证损失？",
    },
    "hw19.cuts_elsewhere": {
        "en": "the lr was cut after epoch(s) {epochs}, but ReduceLROnPlateau replayed on the logged validation "
              "loss cuts elsewhere for every patience 0-10 and cooldown 0-3 (with patience={patience}: after "
              "epoch(s) {expected}): let the scheduler decide, with scheduler.step(valid_loss) once per epoch, "
              "after validation (fit(..., scheduler=...) does it)",
        "zh": "学习率在第 {epochs} 个 epoch 之后被降低，但是在记录下来的验证损失上重放 ReduceLROnPlateau，"
              "无论 patience 取 0-10、cooldown 取 0-3，降低的位置都不一样（patience={patience} 时："
              "在第 {expected} 个 epoch 之后）：请让调度器来决定——每个 epoch 验证之后调用一次 "
              "scheduler.step(valid_loss)（fit(..., scheduler=...) 就是这样做的）",
    },
    "hw19.nowhere": {"en": "none", "zh": "无"},
    "hw19.correct": {
        "en": "the lr was cut {cuts} time(s) (after epoch {epochs}; factor {factor}), exactly where "
              "ReduceLROnPlateau({setting}) cuts it on the logged validation loss ({count} epochs): correct",
        "zh": "学习率被降低了 {cuts} 次（在第 {epochs} 个 epoch 之后；倍数 {factor}），正好是在记录下来的验证损失上"
              "ReduceLROnPlateau({setting}) 会降低它的位置（共 {count} 个 epoch）：正确",
    },
    "hw20.near_tag": {
        "en": "the tag is {near!r}, not {wanted!r}: the tag must match exactly (no spaces)",
        "zh": "tag 是 {near!r}，不是 {wanted!r}：tag 必须完全一致（不能有空格）",
    },
    "hw20.no_tag": {
        "en": "no curve tagged {wanted!r}; the tags written are {found}",
        "zh": "没有 tag 为 {wanted!r} 的曲线；已写入的 tag 是 {found}",
    },
    "hw20.others": {
        "en": " (checked {last!r}, the run written last; {runs} hold(s) 'y=2x' too, and TensorBoard draws "
              "them in the same chart: check_homework(20, run=...) checks only the run you name)",
        "zh": "（检查的是最后写入的 run {last!r}；{runs} 也含有 'y=2x'，TensorBoard 会把它们画在同一张图里："
              "check_homework(20, run=...) 只检查你指定的 run）",
    },
    "hw20.twice": {
        "en": "run {run!r} has {points} points but only {steps} different steps: "
              "the homework was written twice into one run (start it fresh: run_writer(20, ...))",
        "zh": "run {run!r} 有 {points} 个点，但只有 {steps} 个不同的步：作业被写进同一个 run 两次了"
              "（用 run_writer(20, ...) 重新开始）",
    },
    "hw20.shifted": {
        "en": "steps {first}..{last} instead of 0..99: x runs over range(100)",
        "zh": "步是 {first}..{last}，而不是 0..99：x 应当取遍 range(100)",
    },
    "hw20.partial": {
        "en": "only {count} of 100 points (steps 0..{last}): nothing flushed yet? "
              "close the writer, or the loop stopped early",
        "zh": "100 个点里只有 {count} 个（步 0..{last}）：是不是还没 flush？请关闭 writer；否则就是循环提前停止了",
    },
    "hw20.bad_steps": {
        "en": "the steps are {head}...{tail}, expected 0, 1, ..., 99 (one point per x)",
        "zh": "步是 {head}...{tail}，应当是 0, 1, ..., 99（每个 x 一个点）",
    },
    "hw20.bad_value": {
        "en": "at step {step} the value is {value:g}, not 2·{step} = {double}: write add_scalar('y=2x', 2 * x, x)",
        "zh": "第 {step} 步的值是 {value:g}，不是 2·{step} = {double}：应写 add_scalar('y=2x', 2 * x, x)",
    },
    "hw20.correct": {
        "en": "100 points of y = 2x (steps 0..99, values 0..198) in run {run!r}: correct",
        "zh": "run {run!r} 里有 y = 2x 的 100 个点（步 0..99，值 0..198）：正确",
    },
    "hw21.no_tag": {
        "en": "no curve tagged {tag!r}; the tags written are {written}",
        "zh": "没有 tag 为 {tag!r} 的曲线；已写入的 tag 是 {written}",
    },
    "hw21.missing_side": {
        "en": "{tag!r} has no {missing} line (runs with it: {runs}): "
              "log both, with add_scalars(tag, {{'train': ...}}) / {{'valid': ...}} or two writers",
        "zh": "{tag!r} 缺少 {missing} 曲线（含有它的 run：{runs}）：两条都要记录，"
              "用 add_scalars(tag, {{'train': ...}}) / {{'valid': ...}}，或者用两个 writer",
    },
    "hw21.and_no": {"en": " and no ", "zh": "和 "},
    "hw21.unpaired": {
        "en": "{tag!r}: the train and valid lines are in runs that TensorBoard does not pair "
              "({runs}); name them <run>/{tag}_train and <run>/{tag}_valid, or <run>/train and <run>/valid",
        "zh": "{tag!r}：train 和 valid 两条曲线所在的 run，TensorBoard 不会把它们画在一张图里（{runs}）；"
              "请命名为 <run>/{tag}_train 和 <run>/{tag}_valid，或者 <run>/train 和 <run>/valid",
    },
    "hw21.not_finite": {"en": "{tag!r} ({side}) holds NaN or inf", "zh": "{tag!r}（{side}）含有 NaN 或 inf"},
    "hw21.accuracy_range": {
        "en": "{tag!r} ({side}) goes up to {top:g}: accuracy is a share in [0, 1] "
              "(did you log percent, or a count of correct images?)",
        "zh": "{tag!r}（{side}）最高到 {top:g}：准确率是 [0, 1] 之间的比例"
              "（你记录的是百分数，还是分类正确的图片张数？）",
    },
    "hw21.negative_loss": {
        "en": "{tag!r} ({side}) is negative ({low:g}): log the loss itself",
        "zh": "{tag!r}（{side}）是负数（{low:g}）：请记录损失本身",
    },
    "hw21.few_valid": {
        "en": "{tag!r}: only {count} valid point(s); validate after every epoch",
        "zh": "{tag!r}：valid 只有 {count} 个点；请每个 epoch 之后都验证一次",
    },
    "hw21.step_axes": {
        "en": "{tag!r}: valid is logged at steps {vmin}..{vmax} and train at {tmin}..{tmax}, so in one chart "
              "the {shorter} line is squeezed into the first {share:.0%} of the axis (one of them counted "
              "epochs, the other iterations?): use one global step for both, e.g. train at "
              "epoch * len(train_loader) + i and valid after each epoch at (epoch + 1) * len(train_loader)",
        "zh": "{tag!r}：valid 记录在第 {vmin}..{vmax} 步，train 记录在第 {tmin}..{tmax} 步，画在同一张图里时，"
              "{shorter} 曲线被挤在横轴最前面的 {share:.0%}（一个按 epoch 计数，另一个按迭代次数计数？）："
              "两者请用同一个全局步数，例如 train 用 epoch * len(train_loader) + i，"
              "每个 epoch 结束后 valid 用 (epoch + 1) * len(train_loader)",
    },
    "hw21.no_layout": {
        "en": "{tag!r}: {train!r} and {valid!r} in run {run!r} are two charts; TensorBoard puts them in one "
              "only with a custom-scalars layout (way C): writer.add_custom_scalars({{'Train vs Valid': "
              "{{{tag!r}: ['Multiline', [{train!r}, {valid!r}]]}}}}), or use way A or B",
        "zh": "{tag!r}：run {run!r} 里的 {train!r} 和 {valid!r} 是两张图；只有自定义标量布局（方式 C）才会把它们"
              "画在一张图里：writer.add_custom_scalars({{'Train vs Valid': "
              "{{{tag!r}: ['Multiline', [{train!r}, {valid!r}]]}}}})，或者改用方式 A 或 B",
    },
    "hw21.verdict": {
        "en": "{tag} train ({train} points) and valid ({valid} points) in one chart ({base})",
        "zh": "{tag} 的 train（{train} 个点）和 valid（{valid} 个点）在同一张图里（{base}）",
    },
    "hw.join": {"en": "; ", "zh": "；"},
    "hw.correct_suffix": {"en": ": correct", "zh": "：正确"},
    "hw22.no_images": {
        "en": "no images in {name}/ yet: write the grid with writer.add_image(tag, grid, step) "
              "and flush or close the writer",
        "zh": "{name}/ 里还没有图片：请用 writer.add_image(tag, grid, step) 写入网格图，然后 flush 或 close writer",
    },
    "hw22.no_tag": {
        "en": "no image tagged {tag!r}; the image tags written are {tags}",
        "zh": "没有 tag 为 {tag!r} 的图片；已写入的图片 tag 是 {tags}",
    },
    "hw22.one_picture": {
        "en": "{tag!r} ({width} x {height}) shows one picture, not a grid of tiles: pass the whole batch "
              "(B, C, H, W) to make_grid (and keep its padding, so that the tiles are apart)",
        "zh": "{tag!r}（{width} x {height}）只有一张图，不是由小图拼成的网格：请把整个批次 (B, C, H, W) 传给 "
              "make_grid（并保留它的 padding，让小图彼此分开）",
    },
    "hw22.clipped": {
        "en": "{low:.0%} of the colour values in {tag!r} are 0 and {high:.0%} are 255: the batch was outside "
              "[0, 1] at both ends and TensorBoard clipped it. Denormalise the inputs first (x * std + mean), "
              "or use make_grid(..., normalize=True)",
        "zh": "{tag!r} 里 {low:.0%} 的颜色值是 0，{high:.0%} 是 255：这个批次两端都超出了 [0, 1]，"
              "被 TensorBoard 截断了。请先对输入做反标准化（x * std + mean），或者用 make_grid(..., normalize=True)",
    },
    "hw22.which_tag": {
        "en": "this run holds {count} image tags {tags}: name your homework's, "
              "e.g. check_homework(22, run=..., tag={first!r})",
        "zh": "这个 run 里有 {count} 个图片 tag {tags}：请指明你的作业用的那个，"
              "例如 check_homework(22, run=..., tag={first!r})",
    },
    "hw22.correct": {
        "en": "{tag!r} is a {width} x {height} grid of tiles with values inside [0, 1]: correct",
        "zh": "{tag!r} 是一张 {width} x {height} 的网格图，数值都在 [0, 1] 之内：正确",
    },
    "hw23.not_tensor": {
        "en": "captured[{inplace}] is a {kind}, not a tensor: store the hook's "
              "output argument (a tensor), e.g. maps.append(output.detach().clone())",
        "zh": "captured[{inplace}] 是 {kind}，不是张量：请保存钩子函数的 output 参数（一个张量），"
              "例如 maps.append(output.detach().clone())",
    },
    "hw23.shape": {
        "en": "captured[{inplace}] has shape {shape}; features[0] of AlexNet gives 64 maps, (B, 64, H', W') "
              "((B, 64, 55, 55) for a 224 x 224 image): hook model.features[0] and pass a (B, 3, H, W) batch",
        "zh": "captured[{inplace}] 的形状是 {shape}；AlexNet 的 features[0] 输出 64 张特征图，即 (B, 64, H', W')"
              "（224 x 224 的图片得到 (B, 64, 55, 55)）：请把 hook 挂在 model.features[0] 上，"
              "并输入 (B, 3, H, W) 的批次",
    },
    "hw23.shapes_differ": {
        "en": "the two recordings have different shapes {first} and {second}: use the same input twice",
        "zh": "两次记录的形状不同（{first} 和 {second}）：两次请用同一个输入",
    },
    "hw23.not_finite": {"en": "the recorded maps hold NaN or inf: check the input image",
                        "zh": "记录下来的特征图含有 NaN 或 inf：请检查输入图片"},
    "hw23.inplace_negative": {
        "en": "the inplace=True maps have negative values: the ReLU did not overwrite them, so it did not "
              "run in place (is inplace still True for that run?) or the hook kept a copy before the ReLU ran",
        "zh": "inplace=True 的特征图里有负值：ReLU 没有覆盖它们，也就是说 ReLU 没有原地运行"
              "（那次运行时 inplace 还是 True 吗？），或者钩子函数在 ReLU 运行之前保存了一份副本",
    },
    "hw23.no_negative": {
        "en": "the inplace=False maps have no negative values: they were changed by the ReLU after all "
              "(set model.features[1].inplace = False before that forward pass), or the hook is on the "
              "ReLU (features[1]) instead of the convolution (features[0])",
        "zh": "inplace=False 的特征图里没有负值：它们还是被 ReLU 改掉了（请在那次前向传播之前设置 "
              "model.features[1].inplace = False），或者 hook 挂在了 ReLU（features[1]）上，"
              "而不是卷积（features[0]）上",
    },
    "hw23.relu_differs": {
        "en": "ReLU(inplace=False maps) differs from the inplace=True maps: the two runs saw different "
              "inputs or weights; use the same model and the same image for both",
        "zh": "ReLU(inplace=False 的特征图) 与 inplace=True 的特征图不同：两次运行的输入或权重不一样；"
              "请对两次运行使用同一个模型和同一张图片",
    },
    # --- camp_utils.exercises.check_exercise ---------------------------------------------------------
    "ex.result": {"en": "Lesson {lesson}, exercise {exercise}: {message}",
                  "zh": "第{lesson}课练习 {exercise}：{message}"},
    "ex22_3.not_a_shape": {
        "en": "{answer} is not a shape: give it as a tuple of three ints, (C, H, W)",
        "zh": "{answer} 不是一个形状：请写成三个整数的元组 (C, H, W)",
    },
    "ex22_3.no_channels": {
        "en": "{answer} has two numbers: make_grid keeps the channels first and returns (C, H, W)",
        "zh": "{answer} 只有两个数：make_grid 保留通道维，返回 (C, H, W)",
    },
    "ex22_3.channels": {
        "en": "{channels} channels: make_grid keeps the images' 3 colour channels first",
        "zh": "{channels} 个通道：make_grid 把图片的 3 个颜色通道放在最前面，数量不变",
    },
    "ex22_3.swapped": {
        "en": "height and width are swapped: nrow=7 is the number of tiles in a row, so it sets the width",
        "zh": "高和宽弄反了：nrow=7 是每一行的小图数，它决定的是宽度",
    },
    "ex22_3.rows_floor": {
        "en": "{rows} rows hold only {rows}·7 images: the last, incomplete row counts too (ceil, not floor)",
        "zh": "{rows} 行只放得下 {rows}·7 张图：最后那行没排满也算一行（向上取整，而不是向下取整）",
    },
    "ex22_3.last_padding": {
        "en": "one padding short in each direction: the grid has a padding after the last tile too",
        "zh": "每个方向都少了一个 padding：最后一张小图之后也有一圈 padding",
    },
    "ex22_3.no_padding": {
        "en": "without the padding: every tile gets 3 pixels of padding, and the grid one more at its far edge",
        "zh": "漏掉了 padding：每张小图都带 3 个像素的 padding，网格在最远的边上还要再加一个",
    },
    "ex22_3.other": {
        "en": "not {shape}: count the rows (50 images at 7 per row), then each side: tiles·(28 + 3) + 3",
        "zh": "不是 {shape}：先数行数（50 张图，每行 7 张），再算每条边：小图数·(28 + 3) + 3",
    },
    "ex22_3.correct": {
        "en": "{shape}: {rows} rows of 7 tiles, each 28 + 3 pixels, plus 3 of padding at the far edge: correct",
        "zh": "{shape}：{rows} 行、每行 7 张小图，每张 28 + 3 个像素，最远的边上再加 3 个像素的 padding：正确",
    },
    "ex21_5.not_counts": {
        "en": "{answer}: give three counts, (read_scalars, default TensorBoard, TensorBoard with load_fast='false')",
        "zh": "{answer}：请给出三个点数 (read_scalars, 默认的 TensorBoard, load_fast='false' 的 TensorBoard)",
    },
    "ex21_5.files": {
        "en": "read_scalars returns {count}: it keeps every point the files hold, and {written} were written",
        "zh": "read_scalars 返回 {count}：它保留文件中的每一个点，而写入的是 {written} 个",
    },
    "ex21_5.python": {
        "en": "TensorBoard with load_fast='false' shows {count}: its Python loader keeps every point, as "
              "read_scalars does ({written})",
        "zh": "load_fast='false' 的 TensorBoard 显示 {count}：它的 Python 读取器和 read_scalars 一样保留每一个点"
              "（{written} 个）",
    },
    "ex21_5.default_all": {
        "en": "the default TensorBoard shows fewer than all: step 50 after step 99 looks like a restart, and it "
              "drops what it had from step 50 on",
        "zh": "默认的 TensorBoard 显示的不是全部：第 99 步之后出现第 50 步，"
              "看起来像重新开始，它会丢掉从第 50 步起已有的点",
    },
    "ex21_5.default_other": {
        "en": "the default TensorBoard shows {count}? It keeps steps 0..49 of the first pass and the ten points "
              "of the second: count again with TensorBoardServer(folder).scalars(...)",
        "zh": "默认的 TensorBoard 显示 {count} 个？它保留第一遍的第 0..49 步和第二遍的十个点："
              "用 TensorBoardServer(folder).scalars(...) 再数一遍",
    },
    "ex21_5.default_python": {
        "en": "the default TensorBoard shows {count}? On this machine it has no fast data server (pip ships that "
              "program for Linux x86-64 and Intel Macs only), so it uses the Python loader, which keeps every "
              "point ({written}): count again with TensorBoardServer(folder).scalars(...)",
        "zh": "默认的 TensorBoard 显示 {count} 个？这台机器上没有它的快速数据服务器（pip 只为 Linux x86-64 "
              "和 Intel Mac 提供这个程序），所以它用的是 Python 读取器，会保留每一个点（{written} 个）："
              "用 TensorBoardServer(folder).scalars(...) 再数一遍",
    },
    "ex21_5.correct_python": {
        "en": "{written} everywhere: on this machine the default TensorBoard has no fast data server and uses the "
              "Python loader, which keeps every point as read_scalars does (on Linux x86-64 and Intel Macs it "
              "would show 60: steps 0..49, then the second pass's 50..59): correct",
        "zh": "三处都是 {written} 个：这台机器上默认的 TensorBoard 没有快速数据服务器，用的是 Python 读取器，"
              "它和 read_scalars 一样保留每一个点（在 Linux x86-64 和 Intel Mac 上它会显示 60 个："
              "第 0..49 步，加上第二遍的 50..59）：正确",
    },
    "ex21_5.correct": {
        "en": "110 in the files (read_scalars and the Python loader keep every point), 60 in the default "
              "TensorBoard (steps 0..49, then the second pass's 50..59): correct",
        "zh": "文件中有 110 个（read_scalars 和 Python 读取器保留每一个点），默认的 TensorBoard 显示 60 个"
              "（第 0..49 步，加上第二遍的 50..59）：正确",
    },
    "ex19_5.not_callable": {
        "en": "a {kind} is not a recipe: pass a function that builds the scheduler, e.g. "
              "lambda opt: SequentialLR(opt, [...], milestones=[...])",
        "zh": "{kind} 不是构建方法：请传入一个构建调度器的函数，例如 lambda opt:"
              " SequentialLR(opt, [...], milestones=[...])",
    },
    "ex19_5.fails": {
        "en": "building or stepping your scheduler fails: {error}",
        "zh": "构建或调用你的调度器时出错：{error}",
    },
    "ex19_5.no_warmup": {
        "en": "no warm-up: the lr starts at {lr}, not below its full value (LinearLR(opt, start_factor=...))",
        "zh": "没有预热：学习率从 {lr} 开始，而不是从低于它的完整值开始（LinearLR(opt, start_factor=...)）",
    },
    "ex19_5.never_full": {
        "en": "the lr never reaches its full value {base} (highest: {top}): the warm-up should end there",
        "zh": "学习率从未达到它的完整值 {base}（最高：{top}）：预热应当在那里结束",
    },
    "ex19_5.warmup_length": {
        "en": "the warm-up lasts {epochs} epoch(s), not {wanted}: set LinearLR's total_iters (and the milestone "
              "where SequentialLR hands over) to {wanted}",
        "zh": "预热持续了 {epochs} 个 epoch，而不是 {wanted} 个：把 LinearLR 的 total_iters（以及 SequentialLR "
              "交接的里程碑）设为 {wanted}",
    },
    "ex19_5.warmup_not_rising": {
        "en": "the lr does not rise every epoch of the warm-up: a warm-up climbs step by step to the full lr",
        "zh": "预热期间学习率并不是每个 epoch 都上升：预热应当一步一步爬升到完整的学习率",
    },
    "ex19_5.rises": {
        "en": "after the warm-up the lr rises again at epoch {epoch} ({before} -> {after}): in a ChainedScheduler "
              "both parts count from epoch 0 (SequentialLR hands over at a milestone)",
        "zh": "预热之后学习率在第 {epoch} 个 epoch 又上升了（{before} -> {after}）"
              "：在 ChainedScheduler 中两部分都从第 0 "
              "个 epoch 开始计数（SequentialLR 则在里程碑处交接）",
    },
    "ex19_5.no_steps": {
        "en": "no step down in {epochs} epochs after the warm-up: add StepLR or MultiStepLR after it",
        "zh": "预热之后的 {epochs} 个 epoch 里学习率一次也没有下降：在它后面接上 StepLR 或 MultiStepLR",
    },
    "ex19_5.smooth": {
        "en": "after the warm-up the lr falls {count} times by changing factors or every epoch: that is a smooth "
              "decay (cosine, exponential), not steps",
        "zh": "预热之后学习率下降了 {count} 次，倍数各不相同或者每个 epoch 都降："
              "这是平滑的衰减（余弦、指数），不是阶梯",
    },
    "ex19_5.correct": {
        "en": "a warm-up from {start} to {base} over {warmup} epochs, then steps of x{factor} at epoch(s) "
              "{epochs} (counted from 0): correct",
        "zh": "在 {warmup} 个 epoch 内从 {start} 预热到 {base}，之后在第 {epochs} 个 epoch（从 0 数起）"
              "按 x{factor} 阶梯式下降：正确",
    },
    "ex22_2.not_three": {
        "en": "{answer}: give three things, (x / 255, x.to(torch.uint8), True or False: are the stored images "
              "identical?)",
        "zh": "{answer}：请给出三样东西 (x / 255, x.to(torch.uint8), True 或 False：存下的两张图是否完全相同？)",
    },
    "ex22_2.not_tensors": {
        "en": "the first two items are {kinds}: give the two tensors you passed to add_image",
        "zh": "前两项是 {kinds}：请给出你传给 add_image 的那两个张量",
    },
    "ex22_2.shapes": {
        "en": "the two tensors have the shapes {first} and {second}: fix the same x both ways, as (3, H, W)",
        "zh": "两个张量的形状是 {first} 和 {second}：请用同一个 x 做两种修正，形状为 (3, H, W)",
    },
    "ex22_2.first_not_float": {
        "en": "the first tensor is {dtype}: fix 1 divides the float tensor x by 255 and stays float",
        "zh": "第一个张量是 {dtype}：修正 1 是把浮点张量 x 除以 255，结果仍是浮点数",
    },
    "ex22_2.first_range": {
        "en": "the first tensor reaches {top}: add_image multiplies floats by 255 and clips, so everything above 1 "
              "is still white; divide x by 255",
        "zh": "第一个张量最大到 {top}：add_image 会把浮点数乘以 255 再截断，大于 1 的值仍然是白色；请把 x 除以 255",
    },
    "ex22_2.second_not_uint8": {
        "en": "the second tensor is {dtype}: fix 2 converts x with .to(torch.uint8), which add_image stores as it is",
        "zh": "第二个张量是 {dtype}：修正 2 是用 .to(torch.uint8) 转换 x，add_image 会原样保存 uint8",
    },
    "ex22_2.second_from_divided": {
        "en": "the second tensor holds only values up to {top}: you converted x / 255, which truncates to 0 "
              "(black); convert x itself",
        "zh": "第二个张量的值最大只有 {top}：你转换的是 x / 255，截断后几乎全是 0（黑色）；请直接转换 x",
    },
    "ex22_2.second_rounded": {
        "en": "{share} of the values differ by 1 between the two: the second was rounded (.round()); "
              ".to(torch.uint8) alone truncates, as add_image does with floats",
        "zh": "两者之间有 {share} 的值相差 1：第二个张量做过四舍五入（.round()）；单独的 .to(torch.uint8) 是截断，"
              "和 add_image 处理浮点数的方式一样",
    },
    "ex22_2.different_x": {
        "en": "the two stored images differ by up to {gap} levels: they come from different tensors; fix the "
              "same x both ways",
        "zh": "两张存下的图最多相差 {gap} 个灰度级：它们来自不同的张量；请对同一个 x 做两种修正",
    },
    "ex22_2.not_bool": {
        "en": "the third item is {answer}: answer True or False (are the two stored images identical?)",
        "zh": "第三项是 {answer}：请回答 True 或 False（存下的两张图是否完全相同？）",
    },
    "ex22_2.said_different": {
        "en": "they are identical, all {count} values: add_image stores a float as floor(255·x/255) = floor(x), "
              "and .to(torch.uint8) truncates to floor(x) as well",
        "zh": "它们完全相同，{count} 个值全都一样：add_image 把浮点数存成 floor(255·x/255) = floor(x)，"
              ".to(torch.uint8) 同样截断为 floor(x)",
    },
    "ex22_2.said_identical": {
        "en": "not identical for your tensors: {differ} of {count} stored values differ by 1 (read both images "
              "back and compare them value by value)",
        "zh": "对你的张量来说并不完全相同：存下的 {count} 个值中有 {differ} 个相差 1（把两张图读回来，逐个值比较）",
    },
    "ex22_2.correct": {
        "en": "both fixes store floor(x), {count} values, {verdict}: correct",
        "zh": "两种修正存下的都是 floor(x)，共 {count} 个值，{verdict}：正确",
    },
    "ex22_2.identical": {"en": "identical", "zh": "完全相同"},
    "ex22_2.differ": {"en": "{differ} of them one level apart", "zh": "其中 {differ} 个相差一个灰度级"},
    "ex23_4.not_pair": {
        "en": "{answer}: give (model, hook), the model after your experiment and the hook function you "
              "registered on model.features",
        "zh": "{answer}：请给出 (model, hook)：做完实验之后的模型，以及你注册在 model.features 上的 hook 函数",
    },
    "ex23_4.no_features": {
        "en": "the model ({kind}) has no .features module: pass the GapNet of the exercise",
        "zh": "这个模型（{kind}）没有 .features 模块：请传入练习里的 GapNet",
    },
    "ex23_4.left_over": {
        "en": "a hook is still registered on {module}: every later forward pass runs it; call handle.remove() "
              "(in a finally: block, so it goes even when the forward pass fails)",
        "zh": "{module} 上还注册着一个 hook：之后每一次前向传播都会执行它；请调用 handle.remove()"
              "（放在 finally: 块里，即使前向传播出错也会移除）",
    },
    "ex23_4.fails": {
        "en": "the hook raised {error}",
        "zh": "这个 hook 抛出了 {error}",
    },
    "ex23_4.returns_none": {
        "en": "the hook returns None, so model.features' output is unchanged; return the edited copy",
        "zh": "这个 hook 返回 None，所以 model.features 的输出没有改变；请返回修改后的副本",
    },
    "ex23_4.in_place": {
        "en": "the hook changes the output in place: the tensor the network computed is changed too (a later "
              "hook or autograd may hold it); edit output.clone() and return that",
        "zh": "这个 hook 原地修改了输出：网络算出的那个张量也被改了（后面的 hook 或 autograd 可能还持有它）；"
              "请修改 output.clone() 并返回它",
    },
    "ex23_4.not_tensor": {
        "en": "the hook returns a {kind}, not a tensor: return the edited copy of the output, a tensor of shape "
              "{expected}",
        "zh": "这个 hook 返回的是 {kind}，而不是张量：请返回修改后的输出副本，即形状为 {expected} 的张量",
    },
    "ex23_4.shape": {
        "en": "the hook returns a tensor of shape {got}, not the output's {expected}",
        "zh": "这个 hook 返回的张量形状是 {got}，而不是输出的 {expected}",
    },
    "ex23_4.zeroed": {
        "en": "the hook sets {count} channels to zero, not 8",
        "zh": "这个 hook 把 {count} 个通道置零了，而不是 8 个",
    },
    "ex23_4.others_changed": {
        "en": "the hook also changes channels it does not zero: leave the other {count} as they are",
        "zh": "这个 hook 还改动了没有置零的通道：其余 {count} 个通道请保持原样",
    },
    "ex23_4.correct": {
        "en": "the hook returns a copy with channels {channels} set to 0 and leaves the network's own output "
              "alone, and no hook is left on the model: correct",
        "zh": "这个 hook 返回一个通道 {channels} 被置零的副本，没有动网络自己的输出，模型上也没有残留的 hook：正确",
    },
    "hw23.correct": {
        "en": "with inplace=True the hook's tensor was overwritten by the ReLU (no negative values); with "
              "inplace=False it is the convolution's own output, negative values included, and its ReLU "
              "equals the first: correct",
        "zh": "inplace=True 时，钩子函数拿到的张量被 ReLU 覆盖了（没有负值）；inplace=False 时，它就是卷积本身的输出，"
              "包括负值，而对它做 ReLU 正好等于前者：正确",
    },
    # --- camp_utils.doctor (python course.py doctor) --------------------------------------------
    # One line per status: the English lines are "[{status:7}] {check}: {detail}", as before; the Chinese
    # status words are two characters wide each, and the fix line starts under the check's name.
    "doctor.line_ok": {"en": "[ok     ] {check}: {detail}", "zh": "[正常] {check}：{detail}"},
    "doctor.line_note": {"en": "[note   ] {check}: {detail}", "zh": "[提示] {check}：{detail}"},
    "doctor.line_problem": {"en": "[problem] {check}: {detail}", "zh": "[问题] {check}：{detail}"},
    "doctor.fix": {"en": "          fix: {fix}", "zh": "       解决办法：{fix}"},
    "doctor.problems": {"en": "{count} problem(s)", "zh": "发现 {count} 个问题"},
    "doctor.no_problems": {"en": "no problems found", "zh": "没有发现问题"},
    "doctor.torch_build": {"en": "torch build", "zh": "torch 构建版本"},
    "doctor.torch_cuda_ok": {
        "en": "torch {version}, CUDA {cuda}, and a usable GPU: lessons train on it",
        "zh": "torch {version}，CUDA {cuda}，GPU 可用：课程会在 GPU 上训练",
    },
    "doctor.torch_old_driver": {
        "en": "torch {version} is a CUDA {cuda} build and an NVIDIA GPU is here, but CUDA is not usable: "
              "the driver is probably older than this CUDA needs; everything runs on the CPU",
        "zh": "torch {version} 是 CUDA {cuda} 版，这台机器也有 NVIDIA GPU，但 CUDA 用不了：很可能是显卡驱动"
              "比这个 CUDA 版本要求的旧；现在一切都在 CPU 上运行",
    },
    "doctor.torch_old_driver_fix": {
        "en": "update the NVIDIA driver (nvidia-smi shows the CUDA version it supports), or install the "
              "torch wheel for that CUDA version from pytorch.org's selector",
        "zh": "请更新 NVIDIA 驱动（nvidia-smi 会显示它支持的 CUDA 版本），或者在 pytorch.org 的安装选择器里"
              "选择驱动支持的那个 CUDA 版本，安装对应的 torch wheel",
    },
    "doctor.torch_cuda_without_gpu": {
        "en": "torch {version} is a CUDA {cuda} build on a machine without an NVIDIA GPU: it works (on "
              "the CPU), but its download is several GB larger than the CPU build",
        "zh": "torch {version} 是 CUDA {cuda} 版，但这台机器没有 NVIDIA GPU：它能用（在 CPU 上运行），"
              "只是下载量比 CPU 版大好几 GB",
    },
    "doctor.torch_cuda_without_gpu_fix": {
        "en": "to save the space: {cpu_wheel} (with the matching torchvision)",
        "zh": "想省下这些空间：{cpu_wheel}（并安装与之匹配的 torchvision）",
    },
    "doctor.torch_cpu_with_gpu": {
        "en": "torch {version} is a CPU build, but an NVIDIA GPU is here: training will not use it",
        "zh": "torch {version} 是 CPU 版，但这台机器有 NVIDIA GPU：训练不会用到它",
    },
    "doctor.torch_cpu_with_gpu_fix": {
        "en": "install the CUDA build for your driver from pytorch.org's selector, e.g. "
              "pip install torch=={plain} --index-url https://download.pytorch.org/whl/cu126",
        "zh": "请在 pytorch.org 的安装选择器里选择与你的驱动相符的 CUDA 版并安装，例如 "
              "pip install torch=={plain} --index-url https://download.pytorch.org/whl/cu126",
    },
    "doctor.torch_mps": {
        "en": "torch {version} with Apple's GPU (MPS): fit uses it",
        "zh": "torch {version}，可以使用 Apple 的 GPU（MPS）：fit 会用它训练",
    },
    "doctor.torch_cpu": {
        "en": "torch {version}, a CPU build, on a machine without a GPU: it fits",
        "zh": "torch {version}，CPU 版，这台机器没有 GPU：正合适",
    },
    "doctor.cpu_kernels": {"en": "CPU kernels", "zh": "CPU 内核"},
    "doctor.cpu_forced": {
        "en": "{capability}, forced by ATEN_CPU_CAPABILITY={forced}: training numbers differ from the "
              "saved outputs, as on any other CPU (the lessons' checks allow for it)",
        "zh": "{capability}，由 ATEN_CPU_CAPABILITY={forced} 强制指定：训练得出的数字会与保存的输出不同，"
              "和在别的 CPU 上一样（课程里的检查考虑到了这一点）",
    },
    "doctor.cpu_forced_fix": {
        "en": "unset ATEN_CPU_CAPABILITY unless you test portability on purpose",
        "zh": "除非你是有意测试可移植性，否则请取消设置 ATEN_CPU_CAPABILITY",
    },
    "doctor.cpu_own": {
        "en": "{capability}: numbers that come out of training differ a little from the saved outputs on "
              "other CPUs; the compared outputs and the checks do not",
        "zh": "{capability}：在不同的 CPU 上，训练得出的数字会与保存的输出略有差异；"
              "不过参与比较的输出和检查的结论都不受影响",
    },
    "doctor.tensorboard": {"en": "tensorboard", "zh": "tensorboard 程序"},
    "doctor.tb_missing": {
        "en": "the course's environment has no tensorboard program",
        "zh": "课程环境里没有 tensorboard 程序",
    },
    "doctor.tb_missing_fix": {
        "en": "python course.py setup (it installs requirements.txt again)",
        "zh": "python course.py setup（它会重新安装 requirements.txt）",
    },
    "doctor.tb_not_on_path": {
        "en": "no tensorboard on this shell's PATH: outside the course's terminals, call it by its path",
        "zh": "这个终端的 PATH 上没有 tensorboard：在课程的终端之外，请用它的路径来调用",
    },
    "doctor.tb_not_on_path_fix": {
        "en": "{own} --logdir runs (from the project folder), or a terminal of `python course.py lab`",
        "zh": "{own} --logdir runs（在项目文件夹里运行），或者使用 `python course.py lab` 里打开的终端",
    },
    "doctor.tb_foreign": {
        "en": "the tensorboard on PATH is {on_path}, not the course's ({course_program}): another "
              "Python's, which may not start or may read runs differently",
        "zh": "PATH 上的 tensorboard 是 {on_path}，不是课程环境里的那个（{course_program}）：它属于另一个 "
              "Python，可能启动不了，读取 run 的方式也可能不同",
    },
    "doctor.tb_foreign_fix": {
        "en": "use {own}, or a terminal of `python course.py lab` (its PATH starts with the course's)",
        "zh": "请使用 {own}，或者 `python course.py lab` 里打开的终端（它的 PATH 以课程环境的目录开头）",
    },
    "doctor.tb_ok": {
        "en": "the tensorboard on PATH is the course's ({on_path})",
        "zh": "PATH 上的 tensorboard 就是课程环境里的那个（{on_path}）",
    },
    "doctor.chinese_font": {"en": "Chinese font", "zh": "中文字体"},
    "doctor.font_found": {
        "en": "matplotlib can draw Chinese labels ({family})",
        "zh": "matplotlib 能显示中文标签（{family}）",
    },
    "doctor.font_missing": {
        "en": "matplotlib has no font that draws Chinese: Chinese text in your own plots shows as boxes "
              "(the course's plots are labelled in English and are not affected)",
        "zh": "matplotlib 没有能显示中文的字体：你自己画的图里的中文会显示成方框"
              "（课程里的图都用英文标注，不受影响）",
    },
    "doctor.font_missing_fix": {
        "en": "Debian/Ubuntu: sudo apt install fonts-noto-cjk; Windows and macOS ship one (Microsoft YaHei, "
              "PingFang): plt.rcParams['font.sans-serif'] = ['Microsoft YaHei'] (or 'PingFang SC'); then "
              "delete matplotlib's font cache folder (matplotlib.get_cachedir()) and restart the kernel",
        "zh": "Debian/Ubuntu：sudo apt install fonts-noto-cjk；Windows 和 macOS 自带中文字体（Microsoft YaHei、"
              "PingFang）：plt.rcParams['font.sans-serif'] = ['Microsoft YaHei']（或 'PingFang SC'）；然后"
              "删除 matplotlib 的字体缓存文件夹（matplotlib.get_cachedir()），并重启内核",
    },
    "doctor.loader_workers": {"en": "DataLoader workers", "zh": "DataLoader 工作进程"},
    "doctor.loader_spawn": {
        "en": "{system} starts DataLoader workers by spawn: each worker imports the code afresh, so a "
              "Dataset class defined in a notebook cannot reach them (AttributeError: Can't get attribute "
              "... on <module '__main__'>), and a script without a main guard starts itself again",
        "zh": "{system} 用 spawn 方式启动 DataLoader 的工作进程：每个工作进程都会重新导入代码，所以在 notebook "
              "里定义的 Dataset 类传不到它们那里（AttributeError: Can't get attribute ... on "
              "<module '__main__'>），而没有 main 保护的脚本会把自己再启动一遍",
    },
    "doctor.loader_spawn_fix": {
        "en": "in notebooks keep num_workers=0 (the lessons do) or move the Dataset into a .py file; in "
              "scripts put the training under `if __name__ == \"__main__\":`",
        "zh": "在 notebook 里请保持 num_workers=0（课程就是这样做的），或者把 Dataset 移到一个 .py 文件里；"
              "在脚本里请把训练代码放在 `if __name__ == \"__main__\":` 下面",
    },
    "doctor.loader_fork": {
        "en": "{system} forks DataLoader workers: num_workers > 0 works in notebooks too",
        "zh": "{system} 用 fork 方式启动 DataLoader 的工作进程：在 notebook 里 num_workers > 0 也能用",
    },
}
