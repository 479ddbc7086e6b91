#!/usr/bin/python3
"""Reference CLIP (and SigLIP) image preprocessing, written out literally with PIL and numpy.

    /usr/bin/python3 scripts/reference_preprocess.py IMAGE... --out FILE.npy [--config preprocessor_config.json]

Writes an [N, 3, crop_h, crop_w] float32 array: the tensors Hugging Face's
CLIPImageProcessor (slow, PIL-based path) produces for the images, which are in
turn OpenAI CLIP's torchvision transform. picsift's test suite compares its own
sharp-based preprocessing against this output.

Each step names the transformers function it reproduces (src/transformers/
image_transforms.py and models/clip/image_processing_clip.py). Only Debian's
python3-pil and python3-numpy are needed. If transformers happens to be
importable, the result is also checked against the real CLIPImageProcessor.
"""

import argparse
import json
import sys

import numpy as np
from PIL import Image, ImageOps

# CLIPImageProcessor's defaults (OPENAI_CLIP_MEAN / OPENAI_CLIP_STD).
DEFAULTS = {
    "do_resize": True,
    "size": {"shortest_edge": 224},
    "resample": 3,
    "do_center_crop": True,
    "crop_size": {"height": 224, "width": 224},
    "do_rescale": True,
    "rescale_factor": 1 / 255,
    "do_normalize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "do_convert_rgb": True,
}


# SiglipImageProcessor's defaults where they differ (models/siglip/image_processing_siglip.py):
# a square resize and no centre crop, IMAGENET_STANDARD_MEAN / _STD.
SIGLIP_DEFAULTS = {
    "size": {"height": 224, "width": 224},
    "do_center_crop": False,
    "image_mean": [0.5, 0.5, 0.5],
    "image_std": [0.5, 0.5, 0.5],
}


def load_config(path):
    cfg = dict(DEFAULTS)
    if path:
        with open(path) as f:
            given = json.load(f)
        if given.get("image_processor_type") == "SiglipImageProcessor":
            cfg.update(SIGLIP_DEFAULTS)
        cfg.update(given)
    if isinstance(cfg["size"], int):  # get_size_dict(size, default_to_square=False)
        cfg["size"] = {"shortest_edge": cfg["size"]}
    if isinstance(cfg["crop_size"], int):  # get_size_dict(crop_size, default_to_square=True)
        cfg["crop_size"] = {"height": cfg["crop_size"], "width": cfg["crop_size"]}
    return cfg


def resize_output_size(width, height, size):
    """get_resize_output_image_size(): (width, height) after the resize."""
    if "shortest_edge" not in size:
        return size["width"], size["height"]
    edge = size["shortest_edge"]
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = edge, int(edge * long / short)  # int() truncates, as transformers does
    return (new_short, new_long) if width <= height else (new_long, new_short)


def center_crop(array, crop_h, crop_w):
    """center_crop(): floor offsets, zero padding when the image is smaller than the crop."""
    height, width = array.shape[:2]
    top = (height - crop_h) // 2
    left = (width - crop_w) // 2
    out = np.zeros((crop_h, crop_w, array.shape[2]), dtype=array.dtype)
    src_top, src_left = max(top, 0), max(left, 0)
    src_bottom, src_right = min(top + crop_h, height), min(left + crop_w, width)
    out[src_top - top : src_bottom - top, src_left - left : src_right - left] = array[
        src_top:src_bottom, src_left:src_right
    ]
    return out


def preprocess(path, cfg):
    image = Image.open(path)
    # transformers' load_image() applies the EXIF orientation; so does picsift.
    image = ImageOps.exif_transpose(image)
    if cfg["do_convert_rgb"]:
        image = image.convert("RGB")  # convert_to_rgb(): alpha dropped, not composited
    if cfg["do_resize"]:
        size = resize_output_size(image.width, image.height, cfg["size"])
        # resize(): PIL resize with reducing_gap=None, i.e. the full antialiased filter
        image = image.resize(size, resample=cfg["resample"])
    array = np.asarray(image)
    if cfg["do_center_crop"]:
        array = center_crop(array, cfg["crop_size"]["height"], cfg["crop_size"]["width"])
    if cfg["do_rescale"]:  # rescale(): float64 multiply, stored as float32
        tensor = (array.astype(np.float64) * cfg["rescale_factor"]).astype(np.float32)
    else:
        tensor = array.astype(np.float32)
    if cfg["do_normalize"]:  # normalize(): float32 arithmetic
        mean = np.array(cfg["image_mean"], dtype=np.float32)
        std = np.array(cfg["image_std"], dtype=np.float32)
        tensor = (tensor - mean) / std
    return np.ascontiguousarray(tensor.transpose(2, 0, 1))


def cross_check(paths, config_path, tensors):
    """Compare with the real CLIPImageProcessor when transformers is installed."""
    try:
        from transformers import CLIPImageProcessor
    except ImportError:
        return
    if config_path and load_config(config_path).get("image_processor_type") == "SiglipImageProcessor":
        return  # compared with CLIPImageProcessor only
    processor = (
        CLIPImageProcessor.from_json_file(config_path) if config_path else CLIPImageProcessor()
    )
    for path, ours in zip(paths, tensors):
        image = ImageOps.exif_transpose(Image.open(path))
        theirs = processor(images=image, return_tensors="np")["pixel_values"][0]
        worst = float(np.abs(theirs - ours).max())
        if worst > 1e-4:
            sys.exit(f"{path}: differs from transformers' CLIPImageProcessor by {worst}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+")
    parser.add_argument("--out", required=True, help="output .npy file")
    parser.add_argument("--config", help="preprocessor_config.json (default: CLIP's defaults)")
    args = parser.parse_args()

    cfg = load_config(args.config)
    tensors = []
    for path in args.images:
        try:
            tensors.append(preprocess(path, cfg))
        except Exception as error:  # one clear line per unreadable image
            sys.exit(f"{path}: {error}")
    cross_check(args.images, args.config, tensors)
    np.save(args.out, np.stack(tensors).astype(np.float32))


if __name__ == "__main__":
    main()
