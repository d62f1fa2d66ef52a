"""Messages as real RIS, PACS and scheduling feeds send them, one builder per class of problem
of issue #17. Written for these tests: every identifier, name and UID is made up."""

from __future__ import annotations


def seg(name: str, fields: dict[int, str]) -> str:
    """A segment from ``{field number: value}`` (MSH-1/MSH-2 are written for MSH)."""
    if name == "MSH":
        top = max(fields)
        return "MSH|^~\\&" + "".join("|" + fields.get(i, "") for i in range(3, top + 1))
    top = max(fields, default=0)
    return name + "".join("|" + fields.get(i, "") for i in range(1, top + 1))


def msg(*segments: str, end: str = "\r") -> bytes:
    return ("\r".join(segments) + end).encode()


def msh(app: str, fac: str, when: str, mtype: str, cid: str, version: str = "2.5.1",
        charset: str = "") -> str:
    f = {3: app, 4: fac, 5: "HC", 6: "RAD", 7: when, 9: mtype, 10: cid, 11: "P", 12: version}
    if charset:
        f[18] = charset
    return seg("MSH", f)


PID = seg("PID", {1: "1", 3: "MRN4471^^^MERCY^MR", 5: "OKAFOR^ADA^N^^^^L", 7: "19671102",
                  8: "F"})
PV1 = seg("PV1", {1: "1", 2: "O", 3: "XR^^^MERCY", 19: "V99120045"})


def cerner_order(cid: str = "CRN0001") -> bytes:
    """Cerner Millennium ORM: the accession number only in OBR-20 (placer field 2),
    OBR-18 empty; the modality in OBR-24 as HL7 table 0074 ``NMR``."""
    return msg(msh("CERNER", "MERCY", "20251029081839", "ORM^O01", cid, "2.3"), PID, PV1,
               seg("ORC", {1: "NW", 2: "55012^CERNER", 3: "", 5: "SC", 9: "20251029"}),
               seg("OBR", {1: "1", 2: "55012^CERNER", 4: "MRBRN^MRI Brain w/o^L",
                           20: "MR-25-0012044", 24: "NMR", 27: "^^^20251030093000"}))


def impax_order(cid: str = "IMP0001") -> bytes:
    """An IMPAX ORM whose only number is OBR-19; OBR-36 carries the scheduled time."""
    return msg(msh("IMPAX", "ST-LUKE", "20250312101500", "ORM^O01", cid, "2.4"), PID,
               seg("ORC", {1: "NW", 5: "SC"}),
               seg("OBR", {1: "1", 4: "DXCHEST^Chest 2 views^L", 19: "SL7730215",
                           24: "DR", 36: "20250312113000"}))


def pv1_site_order(cid: str = "PV10001") -> bytes:
    """A site that numbers exams by visit: the accession is PV1-19 (visit number)."""
    return msg(msh("HISLINK", "NORTH", "20250601090000", "ORM^O01", cid, "2.3.1"), PID, PV1,
               seg("ORC", {1: "NW", 5: "SC", 9: "20250601090000"}),
               seg("OBR", {1: "1", 4: "USABD^US abdomen^L", 24: "US"}))


def scheduling_only(trigger: str = "S12", cid: str = "SCH0001") -> bytes:
    """A scheduling system's SIU with SCH-1/SCH-2 only (SCH-26/27 empty); the resource is
    a person in AIG-3 (a radiologist), the room in AIL-3; AIS-4 a date without a time and
    SCH-11.4 the precise slot."""
    return msg(msh("QMATIC", "MERCY", "20251103154500", f"SIU^{trigger}", cid),
               seg("SCH", {1: "APT-88120", 2: "RIS-88120", 6: "ROUTINE",
                           11: "^^30^20251110141500^20251110144500", 25: "Booked"}),
               PID,
               seg("AIS", {1: "1", 3: "CTHEAD^CT head^L", 4: "20251110"}),
               seg("AIG", {1: "1", 3: "D4471^MENSAH^KOFI", 4: ""}),
               seg("AIG", {1: "2", 3: "CT2^Somatom CT 2^L", 4: "EQUIPMENT"}),
               seg("AIL", {1: "1", 3: "^CT-ROOM-2"}))


def mdm(trigger: str, status: str, order_control: str = "", cid: str = "MDM0001") -> bytes:
    """A radiology report document (v2.5 MDM with its common order)."""
    segments = [msh("RADREP", "MERCY", "20251104160000", f"MDM^{trigger}", cid),
                seg("EVN", {1: trigger, 2: "20251104160000"}), PID]
    if order_control:
        segments.append(seg("ORC", {1: order_control, 2: "55012^CERNER", 3: "F-88120"}))
    segments.append(seg("OBR", {1: "1", 3: "F-88120", 18: "MR-25-0012044"}))
    segments.append(seg("TXA", {1: "1", 2: "RAD", 3: "TX", 4: "20251104155500",
                                12: "DOC-5521", 13: "DOC-5520" if trigger == "T10" else "",
                                17: status}))
    segments.append(seg("OBX", {1: "1", 2: "TX", 3: "REPORT", 5: "No acute findings."}))
    return msg(*segments)


def obx_modality_report(cid: str = "ORU0001") -> bytes:
    """An ORU whose modality is only in an OBX (DCM 121139 "Modality")."""
    return msg(msh("PACSX", "MERCY", "20251105120000", "ORU^R01", cid),
               PID,
               seg("OBR", {1: "1", 3: "F-90001", 18: "AC-90001", 22: "20251105115900",
                           25: "F"}),
               seg("OBX", {1: "1", 2: "CE", 3: "121139^Modality^DCM", 5: "CT"}),
               seg("OBX", {1: "2", 2: "TX", 3: "REPORT", 5: "Normal."}))


def ihe_tq1_s(cid: str = "IHE0001") -> bytes:
    """As in a published IHE test message: TQ1-7 holds ``S`` (a priority, not a time)."""
    return msg(msh("IHE-RIS", "IHE", "20240115083000", "OMI^O23", cid),
               PID,
               seg("ORC", {1: "NW", 2: "PL-3001", 3: "FL-3001", 5: "SC"}),
               seg("TQ1", {1: "1", 7: "S", 9: "R"}),
               seg("OBR", {1: "1", 2: "PL-3001", 3: "FL-3001", 4: "CTCHEST^CT chest^L"}),
               seg("IPC", {1: "AC-3001", 2: "RP-3001", 3: "1.2.826.0.1.3680043.9.3001",
                           4: "SPS-3001", 5: "CT"}))


def odd_times(cid: str = "ODD0001") -> bytes:
    """Times as a database export writes them, and with hundredths but no dot."""
    return msg(msh("LEGACY", "MERCY", "1994050216163360", "ORM^O01", cid, "2.3"),
               PID,
               seg("ORC", {1: "SC", 2: "P-1", 3: "F-1", 5: "CM",
                           9: "2017-04-25 07:31:13.123456"}),
               seg("OBR", {1: "1", 3: "F-1", 7: "2017-04-25 07:31:13.123456", 18: "AC-1",
                           24: "CR"}))


def latin1_declared_ascii(cid: str = "LAT0001") -> bytes:
    """MSH-18 says ASCII; the bytes are Latin-1 (a name with an accent)."""
    text = "\r".join([
        msh("OLDRIS", "SAINT-ELOI", "20250220101000", "ORM^O01", cid, "2.3", "ASCII"),
        seg("PID", {1: "1", 3: "E55021^^^SE^MR", 5: "LEFÈVRE^HÉLÈNE"}),
        seg("ORC", {1: "NW", 2: "P-77", 3: "F-77", 5: "SC", 9: "20250220101000"}),
        seg("OBR", {1: "1", 3: "F-77", 18: "SE-77", 24: "MG"})]) + "\r"
    return text.encode("latin-1")


def stray_cr(cid: str = "CRR0001") -> bytes:
    """A CR inside a field: the RIS copied a two-line reason for exam into OBR-13."""
    return msg(msh("CERNER", "MERCY", "20251029081839", "ORM^O01", cid, "2.3"), PID,
               seg("ORC", {1: "NW", 2: "55013^CERNER", 5: "SC", 9: "20251029081839"}),
               seg("OBR", {1: "1", 2: "55013^CERNER", 13: "Headache for 3 weeks\rno trauma",
                           18: "AC-55013", 24: "CT"}))


def version_one(cid: str = "V100001") -> bytes:
    """A sender that writes ``1.0`` into MSH-12."""
    return msg(msh("TINYRIS", "CLINIC", "20250701080000", "ORM^O01", cid, "1.0"), PID,
               seg("ORC", {1: "NW", 2: "P-5", 3: "F-5", 5: "SC", 9: "20250701080000"}),
               seg("OBR", {1: "1", 3: "F-5", 18: "AC-5", 24: "US"}))
