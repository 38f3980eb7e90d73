#!/usr/bin/python3
"""Regenerates the mails of this corpus that carry generated attachments.

Usage: samples/mail/corpus/make-corpus.py   (needs python3, gs)

The documents come from small PostScript programs through Ghostscript
(pdfwrite for PDFs, the jpeg device for the photo); the .docx and .zip are
built with Python's zipfile; the Outlook winmail.dat is assembled here byte
by byte, since no Debian package writes TNEF. The generated documents stay
in files/ so the tests never need Ghostscript. The mails without generated
attachments are written by hand and not touched by this script; every
NAME.expect file is written by hand too.

TNEF layout used (Microsoft Open Specifications, [MS-OXTNEF] "Transport
Neutral Encapsulation Format (TNEF) Data Algorithm", sections 2.1.3.1 to
2.1.3.3, and [MS-OXPROPS] for the property ids), all integers little-endian:

  stream     = DWORD signature 0x223E9F78, WORD legacy key, attribute*
  attribute  = BYTE level (1 message, 2 attachment), DWORD attribute id
               (type << 16 | id), DWORD length, data, WORD checksum
               (sum of the data bytes modulo 65536)
  attAttachRendData (0x00069002) starts each attachment; attAttachData
  (0x0006800F) holds its bytes, attAttachTitle (0x00018010) its short name
  and attAttachment (0x00069005) its MAPI properties:
  props      = DWORD count, then per property DWORD tag (id << 16 | type)
               and its value: PT_LONG 4 bytes; PT_STRING8, PT_UNICODE and
               PT_BINARY a DWORD count of values (1), then per value a DWORD
               length and the bytes padded with zeros to a multiple of 4.
"""

import base64
import io
import os
import random
import struct
import subprocess
import tempfile
import textwrap
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "files")

# ---------------------------------------------------------------- documents

PS_PAGES = r"""%!PS-Adobe-3.0
/title ({title}) def
1 1 {pages} {{
  /n exch def
  /Helvetica-Bold findfont 24 scalefont setfont
  72 760 moveto title show
  /Helvetica findfont 13 scalefont setfont
  72 725 moveto (Page ) show n 3 string cvs show ( of {pages}) show
  72 700 moveto ({line}) show
  1.5 setlinewidth
  72 220 451 420 rectstroke
  72 220 moveto 523 640 lineto stroke
  showpage
}} for
"""

PS_PHOTO = r"""%!PS
% A tiny "photo": a grey gradient sky, a dark hill and a sun.
0 1 59 { /y exch def y 60 div 0.4 mul 0.5 add setgray 0 y 1 add 80 1 rectfill } for
0.2 setgray 0 0 moveto 0 25 lineto 30 40 lineto 80 20 lineto 80 0 lineto fill
0.95 setgray 60 48 7 0 360 arc fill
showpage
"""


def run_gs(args, ps):
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, "in.ps")
        with open(src, "w") as f:
            f.write(ps)
        out = os.path.join(work, "out")
        subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", *args, "-o", out, src], check=True)
        with open(out, "rb") as f:
            return f.read()


def make_pdf(title, pages, line):
    ps = PS_PAGES.format(title=title, pages=pages, line=line)
    return run_gs(["-sDEVICE=pdfwrite", "-sPAPERSIZE=a4"], ps)


def make_jpeg():
    return run_gs(["-sDEVICE=jpeg", "-dJPEGQ=60", "-g80x60", "-r72"], PS_PHOTO)


def fixed_zip(entries):
    """A zip whose bytes do not change from run to run."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2025, 3, 3, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def make_docx():
    # The smallest WordprocessingML package Word opens; [Content_Types].xml
    # first, as Word writes it (libmagic looks for it there).
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/word/document.xml" ContentType="application/'
          'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           '<w:body><w:p><w:r><w:t>Vertrag (Entwurf)</w:t></w:r></w:p></w:body></w:document>')
    return fixed_zip([("[Content_Types].xml", ct), ("_rels/.rels", rels), ("word/document.xml", doc)])


def make_report_zip():
    return fixed_zip([("report/summary.txt", "Quarterly report, summary only.\n"),
                      ("report/figures.csv", "quarter,orders\nQ1,118\nQ2,131\n")])


# --------------------------------------------------------------------- TNEF

def tnef_attr(level, attr_id, data):
    return (struct.pack("<BII", level, attr_id, len(data)) + data +
            struct.pack("<H", sum(data) & 0xFFFF))


def mapi_value(data):
    pad = (-len(data)) % 4
    return struct.pack("<II", 1, len(data)) + data + b"\0" * pad


def mapi_props(props):
    out = struct.pack("<I", len(props))
    for tag, value in props:
        out += struct.pack("<I", tag)
        kind = tag & 0xFFFF
        out += struct.pack("<I", value) if kind == 0x0003 else mapi_value(value)
    return out


PT_LONG, PT_STRING8, PT_UNICODE = 0x0003, 0x001E, 0x001F


def tag(prop_id, kind):
    return (prop_id << 16) | kind


def dtr(y, mo, d, h, mi, s, dow):
    return struct.pack("<7H", y, mo, d, h, mi, s, dow)


def make_tnef(attachments):
    """attachments: (long name, short name, MIME tag or None, bytes)."""
    out = struct.pack("<IH", 0x223E9F78, 0x0A7C)
    out += tnef_attr(1, 0x00089006, struct.pack("<I", 0x00010000))       # attTnefVersion
    out += tnef_attr(1, 0x00069007, struct.pack("<II", 1252, 0))         # attOemCodepage
    out += tnef_attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\0")        # attMessageClass
    out += tnef_attr(1, 0x00038005, dtr(2025, 3, 12, 8, 41, 7, 3))      # attDateSent
    for long_name, short_name, mime, data in attachments:
        rend = struct.pack("<HIHHI", 1, 0xFFFFFFFF, 32, 32, 0)          # by value, no position
        out += tnef_attr(2, 0x00069002, rend)                            # attAttachRendData
        out += tnef_attr(2, 0x00018010, short_name.encode("cp1252") + b"\0")  # attAttachTitle
        out += tnef_attr(2, 0x00038013, dtr(2025, 3, 11, 17, 2, 0, 2))  # attAttachModifyDate
        out += tnef_attr(2, 0x0006800F, data)                            # attAttachData
        props = [
            (tag(0x3705, PT_LONG), 1),                                   # PR_ATTACH_METHOD: by value
            (tag(0x3707, PT_UNICODE), (long_name + "\0").encode("utf-16-le")),  # PR_ATTACH_LONG_FILENAME
            (tag(0x3703, PT_STRING8), os.path.splitext(long_name)[1].encode() + b"\0"),  # PR_ATTACH_EXTENSION
        ]
        if mime:
            props.append((tag(0x370E, PT_STRING8), mime.encode() + b"\0"))  # PR_ATTACH_MIME_TAG
        out += tnef_attr(2, 0x00069005, mapi_props(props))               # attAttachment
    return out


# -------------------------------------------------------------------- mails

def b64_76(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"


def write_mail(name, template, blobs):
    text = textwrap.dedent(template).lstrip("\n")
    for key, data in blobs.items():
        text = text.replace("{" + key + "}", b64_76(data).rstrip("\n"))
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print("wrote", name)


def save(name, data):
    os.makedirs(FILES, exist_ok=True)
    with open(os.path.join(FILES, name), "wb") as f:
        f.write(data)
    return data


def main():
    offer = save("angebot-2-pages.pdf", make_pdf("Angebot 2025-114", 2, "Outlook sent this inside winmail.dat."))
    delivery = save("lieferschein-1-page.pdf", make_pdf("Lieferschein 4711", 1, "An inline PDF between two text parts."))
    invoice = save("rechnung-1-page.pdf", make_pdf("Rechnung Maerz", 1, "Attached by Thunderbird."))
    quote = save("quote-2-pages.pdf", make_pdf("Quote Q-2025-0042", 2, "Attached in Gmail."))
    scan = save("scan-2-pages.pdf", make_pdf("Scanned document", 2, "As a copier mails it."))
    order = save("order-1-page.pdf", make_pdf("Purchase order 88213", 1, "A forwarded mail's attachment."))
    photo = save("photo.jpeg", make_jpeg())
    docx = save("vertrag.docx", make_docx())
    report = save("report.zip", make_report_zip())
    winmail = save("winmail-pdf.dat", make_tnef([("Angebot 2025-114.pdf", "ANGEBO~1.PDF", "application/pdf", offer)]))
    winmail_zip = save("winmail-zip.dat", make_tnef([("Belege März.zip", "BELEGE~1.ZIP", None, report)]))
    rng = random.Random(7)
    signature = bytes(rng.randrange(256) for _ in range(600))  # stands in for a CMS SignedData
    text = ("Hi! Here is the photo of the broken pallet \U0001F4E6\U0001F4A5 from this "
            "morning. Delivery note number is 4711.\n\nSent from my iPhone\n")
    blobs = dict(WINMAIL=winmail, WINMAIL_ZIP=winmail_zip, DELIVERY=delivery, INVOICE=invoice,
                 QUOTE=quote, TEXT=text.encode(), PHOTO=photo, SCAN=scan, ORDER=order, DOCX=docx,
                 REPORT=report, SIG=signature)

    write_mail("outlook-tnef.eml", """
        Received: from EXCH01.corp.example.com (10.1.2.3) by EXCH02.corp.example.com
         (10.1.2.4) with Microsoft SMTP Server id 15.1.2507.39; Wed, 12 Mar 2025 08:41:09 +0100
        From: "Weber, Sabine" <sabine.weber@corp.example.com>
        To: "5551001@fax.example.com" <5551001@fax.example.com>
        Subject: Angebot 2025-114
        Thread-Topic: Angebot 2025-114
        Thread-Index: AdmTq1c2kVbA4x9ZQ0m2Zl9dYxK3Aw==
        Date: Wed, 12 Mar 2025 07:41:07 +0000
        Message-ID: <0f3c1e2a9b8d4c5e@EXCH01.corp.example.com>
        Accept-Language: de-DE, en-US
        Content-Language: de-DE
        X-MS-Has-Attach: yes
        X-MS-TNEF-Correlator: <0f3c1e2a9b8d4c5e@EXCH01.corp.example.com>
        MIME-Version: 1.0
        Content-Type: multipart/mixed;
        \tboundary="_002_0f3c1e2a9b8d4c5eEXCH01corpexamplecom_"

        --_002_0f3c1e2a9b8d4c5eEXCH01corpexamplecom_
        Content-Type: text/plain; charset="iso-8859-1"
        Content-Transfer-Encoding: quoted-printable

        Sehr geehrte Damen und Herren,

        anbei unser Angebot f=FCr die Wartung 2025.

        Mit freundlichen Gr=FC=DFen
        Sabine Weber

        --_002_0f3c1e2a9b8d4c5eEXCH01corpexamplecom_
        Content-Type: application/ms-tnef; name="winmail.dat"
        Content-Transfer-Encoding: base64
        Content-Disposition: attachment; filename="winmail.dat"

        {WINMAIL}
        --_002_0f3c1e2a9b8d4c5eEXCH01corpexamplecom_--
        """, blobs)

    write_mail("outlook-tnef-zip.eml", """
        From: "Weber, Sabine" <sabine.weber@corp.example.com>
        To: 5551002@fax.example.com
        Subject: Belege Maerz
        Date: Wed, 12 Mar 2025 07:55:30 +0000
        Message-ID: <7a1d5e0c33f24b9a@EXCH01.corp.example.com>
        X-MS-Has-Attach: yes
        X-MS-TNEF-Correlator: <7a1d5e0c33f24b9a@EXCH01.corp.example.com>
        MIME-Version: 1.0
        Content-Type: multipart/mixed;
        \tboundary="_002_7a1d5e0c33f24b9aEXCH01corpexamplecom_"

        --_002_7a1d5e0c33f24b9aEXCH01corpexamplecom_
        Content-Type: text/plain; charset="us-ascii"
        Content-Transfer-Encoding: 7bit

        Anbei die Belege.

        --_002_7a1d5e0c33f24b9aEXCH01corpexamplecom_
        Content-Type: application/ms-tnef; name="winmail.dat"
        Content-Transfer-Encoding: base64
        Content-Disposition: attachment; filename="winmail.dat"

        {WINMAIL_ZIP}
        --_002_7a1d5e0c33f24b9aEXCH01corpexamplecom_--
        """, blobs)

    write_mail("apple-inline-pdf.eml", """
        From: Thomas Berger <thomas.berger@example.net>
        Content-Type: multipart/mixed;
        \tboundary="Apple-Mail=_5B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0"
        Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
        Subject: Lieferschein 4711
        Message-Id: <A1B2C3D4-E5F6-4789-9ABC-DEF012345678@example.net>
        Date: Thu, 13 Mar 2025 14:02:11 +0100
        To: 5551001@fax.example.com
        X-Mailer: Apple Mail (2.3774.600.62)


        --Apple-Mail=_5B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0
        Content-Transfer-Encoding: 7bit
        Content-Type: text/plain;
        \tcharset=us-ascii

        Hallo,

        hier der Lieferschein:

        --Apple-Mail=_5B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0
        Content-Disposition: inline;
        \tfilename=Lieferschein-4711.pdf
        Content-Type: application/pdf;
        \tx-unix-mode=0644;
        \tname="Lieferschein-4711.pdf"
        Content-Transfer-Encoding: base64

        {DELIVERY}
        --Apple-Mail=_5B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0
        Content-Transfer-Encoding: 7bit
        Content-Type: text/plain;
        \tcharset=us-ascii


        Bitte unterschrieben zurueckfaxen.

        Gruss
        Thomas

        --Apple-Mail=_5B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0--
        """, blobs)

    write_mail("thunderbird-flowed.eml", """
        Message-ID: <3c9e1f0a-7b2d-4e8f-9a61-5d4c3b2a1f0e@example.de>
        Date: Fri, 14 Mar 2025 10:20:45 +0100
        MIME-Version: 1.0
        User-Agent: Mozilla Thunderbird
        Content-Language: de-DE
        To: Buchhaltung <5551002@fax.example.com>
        From: Petra Schulz <petra.schulz@example.de>
        Subject: =?UTF-8?Q?Rechnung_f=C3=BCr_M=C3=A4rz?=
        Content-Type: multipart/mixed; boundary="------------k7Qh2mC9xZpL0aRt4VbN8sWe"

        This is a multi-part message in MIME format.
        --------------k7Qh2mC9xZpL0aRt4VbN8sWe
        Content-Type: text/plain; charset=UTF-8; format=flowed
        Content-Transfer-Encoding: 8bit

        Guten Tag,

        anbei die Rechnung für März. Der Betrag von 1.250,00 € ist bis zum 
        31. März fällig; bei Fragen erreichen Sie mich unter der bekannten 
        Nummer.

        Viele Grüße
        Petra Schulz

        --------------k7Qh2mC9xZpL0aRt4VbN8sWe
        Content-Type: application/pdf; name="=?UTF-8?Q?Rechnung_M=C3=A4rz=2Epdf?="
        Content-Disposition: attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf
        Content-Transfer-Encoding: base64

        {INVOICE}
        --------------k7Qh2mC9xZpL0aRt4VbN8sWe--
        """, blobs)

    write_mail("gmail-alternative-qp.eml", """
        MIME-Version: 1.0
        Date: Mon, 17 Mar 2025 16:05:31 -0700
        Message-ID: <CAF3xq+9mZ_Lr8sQ2vJt0kYpW4nA7bC1dE6fG5hI3jK2lM0nO9p@mail.example.com>
        Subject: Quote Q-2025-0042
        From: Dana Whitfield <dana.whitfield@example.com>
        To: 5551001@fax.example.com
        Content-Type: multipart/mixed; boundary="000000000000b7f1c2062f4a9d01"

        --000000000000b7f1c2062f4a9d01
        Content-Type: multipart/alternative; boundary="000000000000b7f1bf062f4a9cff"

        --000000000000b7f1bf062f4a9cff
        Content-Type: text/plain; charset="UTF-8"
        Content-Transfer-Encoding: quoted-printable

        Hi team,

        Attached is the quote we discussed =E2=80=93 prices are valid for 30 days a=
        nd include shipping to the warehouse on 5th Street.

        Thanks,
        Dana

        --000000000000b7f1bf062f4a9cff
        Content-Type: text/html; charset="UTF-8"
        Content-Transfer-Encoding: quoted-printable

        <div dir=3D"ltr">Hi team,<div><br></div><div>Attached is the quote we discu=
        ssed =E2=80=93 prices are valid for 30 days and include shipping to the war=
        ehouse on 5th Street.</div><div><br></div><div>Thanks,</div><div>Dana</div>=
        </div>

        --000000000000b7f1bf062f4a9cff--
        --000000000000b7f1c2062f4a9d01
        Content-Type: application/pdf; name="Quote Q-2025-0042.pdf"
        Content-Disposition: attachment; filename="Quote Q-2025-0042.pdf"
        Content-Transfer-Encoding: base64
        Content-ID: <f_m8d2k1xq0>
        X-Attachment-Id: f_m8d2k1xq0

        {QUOTE}
        --000000000000b7f1c2062f4a9d01--
        """, blobs)

    write_mail("iphone-photo.eml", """
        Content-Type: multipart/mixed; boundary=Apple-Mail-9D3E1A52-7C44-4B0E-8F21-3A6B5C9D0E7F
        Content-Transfer-Encoding: 7bit
        From: Luis Ortega <luis.ortega@example.com>
        Mime-Version: 1.0 (1.0)
        Date: Tue, 18 Mar 2025 07:12:40 -0500
        Subject: Damaged pallet
        Message-Id: <6E2A9C11-0B3D-4F5E-A6C7-D8E9F0A1B2C3@example.com>
        To: 5551002@fax.example.com
        X-Mailer: iPhone Mail (22D82)


        --Apple-Mail-9D3E1A52-7C44-4B0E-8F21-3A6B5C9D0E7F
        Content-Type: text/plain;
        \tcharset=utf-8
        Content-Transfer-Encoding: base64

        {TEXT}
        --Apple-Mail-9D3E1A52-7C44-4B0E-8F21-3A6B5C9D0E7F
        Content-Type: image/jpeg;
        \tname=IMG_0042.jpeg;
        \tx-apple-part-url=3F1E5B7A-2C4D-4E6F-8A9B-0C1D2E3F4A5B
        Content-Disposition: inline;
        \tfilename=IMG_0042.jpeg
        Content-Transfer-Encoding: base64

        {PHOTO}
        --Apple-Mail-9D3E1A52-7C44-4B0E-8F21-3A6B5C9D0E7F--
        """, blobs)

    write_mail("scanner-pdf.eml", """
        From: scanner@office.example.com
        To: 5551001@fax.example.com
        Subject: Scanned from MFP-3F
        Date: Wed, 19 Mar 2025 11:47:03 +0100
        Message-ID: <20250319114703.0001@MFP-3F.office.example.com>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="------------MFP3F_20250319114703"
        X-Mailer: MFP-3F Scan to E-mail

        This is a multi-part message in MIME format.
        --------------MFP3F_20250319114703
        Content-Type: application/pdf; name="scan0001.pdf"
        Content-Transfer-Encoding: base64
        Content-Disposition: attachment; filename="scan0001.pdf"

        {SCAN}
        --------------MFP3F_20250319114703--
        """, blobs)

    write_mail("scanner-octet-stream.eml", """
        From: "Copier 2nd floor" <scanner@office.example.com>
        To: 5551002@fax.example.com
        Subject: Scan
        Date: Wed, 19 Mar 2025 11:52:40 +0100
        Message-ID: <scan.20250319.115240@copier2.office.example.com>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="=_copier2_boundary_0001"

        --=_copier2_boundary_0001
        Content-Type: application/octet-stream; name="scan0001.pdf"
        Content-Transfer-Encoding: base64

        {SCAN}
        --=_copier2_boundary_0001--
        """, blobs)

    write_mail("pdf-labelled-text.eml", """
        From: Ops Robot <robot@reports.example.org>
        To: 5551001@fax.example.com
        Subject: Daily delivery note
        Date: Thu, 20 Mar 2025 06:00:01 +0000
        Message-ID: <daily-20250320@reports.example.org>
        MIME-Version: 1.0
        Content-Type: text/plain; charset=us-ascii
        Content-Transfer-Encoding: base64

        {DELIVERY}
        """, blobs)

    write_mail("pdf-no-content-type.eml", """
        From: Ops Robot <robot@reports.example.org>
        To: 5551002@fax.example.com
        Subject: Order 88213
        Date: Thu, 20 Mar 2025 06:05:12 +0000
        Message-ID: <order-88213@reports.example.org>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="robot-boundary-88213"

        --robot-boundary-88213

        Order 88213 is attached.

        --robot-boundary-88213
        Content-Transfer-Encoding: base64
        Content-Disposition: attachment; filename="order-88213"

        {ORDER}
        --robot-boundary-88213--
        """, blobs)

    write_mail("forwarded-rfc822.eml", """
        From: Anna Klein <anna.klein@example.org>
        To: 5551002@fax.example.com
        Subject: Fwd: Purchase order 88213
        Date: Fri, 21 Mar 2025 09:14:00 +0100
        Message-ID: <fwd-88213.anna@example.org>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="outer-fwd-0001"

        --outer-fwd-0001
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 7bit

        Please fax the order below to the warehouse.

        --outer-fwd-0001
        Content-Type: message/rfc822
        Content-Disposition: attachment; filename="Purchase order 88213.eml"

        From: Purchasing <purchasing@buyer.example.com>
        To: Anna Klein <anna.klein@example.org>
        Subject: Purchase order 88213
        Date: Thu, 20 Mar 2025 17:40:22 -0400
        Message-ID: <po-88213@buyer.example.com>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="inner-po-0001"

        --inner-po-0001
        Content-Type: text/plain; charset=us-ascii

        Hello Anna, our order 88213 is attached.

        --inner-po-0001
        Content-Type: application/pdf; name="PO-88213.pdf"
        Content-Disposition: attachment; filename="PO-88213.pdf"
        Content-Transfer-Encoding: base64

        {ORDER}
        --inner-po-0001--

        --outer-fwd-0001--
        """, blobs)

    write_mail("docx-octet-stream.eml", """
        From: Jan de Vries <jan.devries@example.nl>
        To: 5551001@fax.example.com
        Subject: Contract draft
        Date: Mon, 24 Mar 2025 13:30:00 +0100
        Message-ID: <contract-draft.jan@example.nl>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="b1_docx_0001"

        --b1_docx_0001
        Content-Type: text/plain; charset=us-ascii

        Draft attached, please fax it.

        --b1_docx_0001
        Content-Type: application/octet-stream; name="Vertrag.docx"
        Content-Disposition: attachment; filename="Vertrag.docx"
        Content-Transfer-Encoding: base64

        {DOCX}
        --b1_docx_0001--
        """, blobs)

    write_mail("zip-refused.eml", """
        From: Carol Nguyen <carol@example.org>
        To: 5551002@fax.example.com
        Subject: Quarterly report
        Date: Mon, 24 Mar 2025 15:02:00 -0700
        Message-ID: <q-report.carol@example.org>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="zip-boundary-0001"

        --zip-boundary-0001
        Content-Type: text/plain; charset=us-ascii

        Report attached.

        --zip-boundary-0001
        Content-Type: application/zip; name="report.zip"
        Content-Disposition: attachment; filename="report.zip"
        Content-Transfer-Encoding: base64

        {REPORT}
        --zip-boundary-0001--
        """, blobs)

    write_mail("smime-signed.eml", """
        From: Martin Vogel <martin.vogel@example.de>
        To: 5551001@fax.example.com
        Subject: Signed order confirmation
        Date: Tue, 25 Mar 2025 08:30:00 +0100
        Message-ID: <signed-oc-1001@example.de>
        MIME-Version: 1.0
        Content-Type: multipart/signed; protocol="application/pkcs7-signature";
         micalg=sha-256; boundary="----smime-sig-boundary-1001"

        This is an S/MIME signed message

        ------smime-sig-boundary-1001
        Content-Type: multipart/alternative; boundary="----alt-1001"

        ------alt-1001
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        We confirm order 1001 (12 units) for delivery on 2 April.

        Martin Vogel

        ------alt-1001
        Content-Type: text/html; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        <p>We confirm order 1001 (12 units) for delivery on 2 April.</p><p>Martin V=
        ogel</p>

        ------alt-1001--

        ------smime-sig-boundary-1001
        Content-Type: application/pkcs7-signature; name="smime.p7s"
        Content-Transfer-Encoding: base64
        Content-Disposition: attachment; filename="smime.p7s"
        Content-Description: S/MIME Cryptographic Signature

        {SIG}
        ------smime-sig-boundary-1001--
        """, blobs)


if __name__ == "__main__":
    main()
