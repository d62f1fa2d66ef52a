"""Whether an image's pixels may carry text (a name, an ID, a date burned into the image),
which de-identifying the attributes does not remove.

An image is held back (shared only with an explicit, audited confirmation) when:

* Burned In Annotation (0028,0301) is ``YES``;
* Recognizable Visual Features (0028,0302) is ``YES`` (a face);
* it has pixel data, does not say Burned In Annotation ``NO``, and is of a kind that often
  carries text in its pixels: secondary capture (screenshots, scanned paper, dose
  reports), ultrasound, endoscopy and photographs, X-ray angiography/fluoroscopy, derived
  secondary images (``ImageType`` ``DERIVED\\SECONDARY``), video.

An image that says Burned In Annotation ``NO`` is taken at its word: the device states its
pixels carry no identifying text.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

#: modalities whose pixels often carry text (DICOM defined terms)
TEXT_MODALITIES = frozenset({"US", "ES", "XC", "GM", "SM", "OP", "XA", "RF", "OT", "DOC",
                             "IVUS", "ECG"})
#: SOP class UID prefixes of objects that are pictures of screens, paper or scenes
TEXT_SOP_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.7",  # secondary capture (all kinds)
    "1.2.840.10008.5.1.4.1.1.77.1",  # visible light: endoscopy, microscopy, photography
    "1.2.840.10008.5.1.4.1.1.6",  # ultrasound
    "1.2.840.10008.5.1.4.1.1.3.1",  # ultrasound multi-frame
    "1.2.840.10008.5.1.4.1.1.12",  # X-ray angiography / fluoroscopy
)


def text_risks(ds: Dataset) -> list[str]:
    """Why ``ds``'s pixels may carry identifying text, in English (empty: no known risk)."""
    reasons: list[str] = []
    burned = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    faces = str(ds.get("RecognizableVisualFeatures", "") or "").strip().upper()
    if burned == "YES":
        reasons.append("BurnedInAnnotation is YES: text is burned into the pixels")
    if faces == "YES":
        reasons.append("RecognizableVisualFeatures is YES: a face may be recognisable")
    if burned == "NO" or ("PixelData" not in ds and "FloatPixelData" not in ds \
            and "DoubleFloatPixelData" not in ds):
        return reasons
    if burned != "YES":
        modality = str(ds.get("Modality", "") or "").strip().upper()
        sop_class = str(ds.get("SOPClassUID", "") or "")
        image_type = [str(v).upper() for v in (ds.get("ImageType") or [])]
        if modality in TEXT_MODALITIES:
            reasons.append(f"modality {modality} images often carry text in their pixels "
                           "and BurnedInAnnotation does not say NO")
        elif any(sop_class.startswith(p) for p in TEXT_SOP_CLASSES):
            reasons.append("a secondary capture, photograph, ultrasound or fluoroscopy "
                           "object may show text in its pixels and BurnedInAnnotation does "
                           "not say NO")
        elif "SECONDARY" in image_type:
            reasons.append("a derived secondary image (ImageType SECONDARY) may be a "
                           "screenshot and BurnedInAnnotation does not say NO")
    return reasons


def risks_zh(reasons: list[str]) -> str:
    """A short Chinese line for the same reasons."""
    if not reasons:
        return ""
    return "图像像素中可能含有可识别文字或面部特征（BurnedInAnnotation/RecognizableVisualFeatures）"
