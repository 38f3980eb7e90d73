#!/usr/bin/env python3
"""Writes Office documents that link to local files instead of embedding them.

Usage: make_linked_documents.py PICTURE TEXT OUTDIR

PICTURE and TEXT are paths (a picture file, a text file). OUTDIR receives:
  picture.docx   a picture whose relationship is External (file:// URL)
  field.docx     INCLUDEPICTURE and INCLUDETEXT fields
  fields.rtf     the same fields in RTF
  section.odt    a section linked to TEXT (Insert > Section > Link)
  object.odt     an OLE object linked to TEXT
isolation_test renders each with the files present and with the paths
pointing at nothing: a renderer that reads what a document links to shows
the difference.
"""
import os
import sys
import zipfile
from xml.sax.saxutils import escape, quoteattr

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
DRAWING = ('xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
           'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
           'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"')

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml"
 ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>"""

PACKAGE_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1"
 Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
 Target="word/document.xml"/>
</Relationships>"""


def url(path):
    return "file://" + path


def paragraph(text):
    return "<w:p><w:r><w:t>%s</w:t></w:r></w:p>" % escape(text)


def field(instruction, shown):
    return ('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            '<w:r><w:instrText xml:space="preserve"> %s </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            '<w:r><w:t>%s</w:t></w:r>'
            '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>') % (escape(instruction), shown)


def docx(out, body, rels=""):
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document %s %s %s><w:body>%s</w:body></w:document>' % (W, R, DRAWING, body))
    relationships = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                     '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                     'relationships">%s</Relationships>' % rels)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", PACKAGE_RELS)
        z.writestr("word/document.xml", document)
        z.writestr("word/_rels/document.xml.rels", relationships)


def linked_picture_docx(out, picture):
    emu = 3600000  # 10 cm
    drawing = (
        '<w:p><w:r><w:drawing><wp:inline><wp:extent cx="%d" cy="%d"/>'
        '<wp:docPr id="1" name="picture"/><a:graphic><a:graphicData '
        'uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic>'
        '<pic:nvPicPr><pic:cNvPr id="1" name="picture"/><pic:cNvPicPr/></pic:nvPicPr>'
        '<pic:blipFill><a:blip r:link="rIdPicture"/><a:stretch><a:fillRect/></a:stretch>'
        '</pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="%d" cy="%d"/>'
        '</a:xfrm><a:prstGeom prst="rect"/></pic:spPr></pic:pic></a:graphicData>'
        '</a:graphic></wp:inline></w:drawing></w:r></w:p>') % (emu, emu, emu, emu)
    rels = ('<Relationship Id="rIdPicture" TargetMode="External" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
            'Target=%s/>' % quoteattr(url(picture)))
    docx(out, paragraph("Linked picture below") + drawing, rels)


def field_docx(out, picture, text):
    docx(out, paragraph("Included below") +
         field('INCLUDETEXT "%s"' % text, "missing") +
         field('INCLUDEPICTURE "%s" \\d' % picture, "") +
         field('INCLUDEPICTURE "%s"' % url(picture), ""))


def fields_rtf(out, picture, text):
    def rtf_path(p):
        return p.replace("\\", "\\\\")
    with open(out, "w") as f:
        f.write("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Arial;}}\\f0\\fs48 Included below\\par\n"
                "{\\field{\\*\\fldinst INCLUDETEXT \"%s\"}{\\fldrslt missing}}\\par\n"
                "{\\field{\\*\\fldinst INCLUDEPICTURE \"%s\"}{\\fldrslt }}\\par\n"
                "{\\field{\\*\\fldinst INCLUDEPICTURE \"%s\" \\\\d}{\\fldrslt }}\\par\n}\n"
                % (rtf_path(text), rtf_path(url(picture)), rtf_path(picture)))


ODT_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
 xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.2">
<office:body><office:text>
<text:p>Included below</text:p>
"""
ODT_TAIL = "</office:text></office:body></office:document-content>\n"

MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest
 xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/"
  manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""


def odt(out, body):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text",
                   compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", MANIFEST)
        z.writestr("content.xml", ODT_HEAD + body + ODT_TAIL)


def section_odt(out, text):
    odt(out, '<text:section text:name="linked"><text:section-source xlink:href=%s '
             'xlink:type="simple" text:filter-name="Text"/><text:p>missing</text:p>'
             '</text:section>\n' % quoteattr(url(text)))


def object_odt(out, text):
    odt(out, '<text:p><draw:frame draw:name="object" text:anchor-type="as-char" '
             'svg:width="10cm" svg:height="5cm"><draw:object xlink:href=%s '
             'xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/>'
             '</draw:frame></text:p>\n' % quoteattr(url(text)))


def main():
    picture, text, outdir = sys.argv[1:4]
    linked_picture_docx(os.path.join(outdir, "picture.docx"), picture)
    field_docx(os.path.join(outdir, "field.docx"), picture, text)
    fields_rtf(os.path.join(outdir, "fields.rtf"), picture, text)
    section_odt(os.path.join(outdir, "section.odt"), text)
    object_odt(os.path.join(outdir, "object.odt"), text)


if __name__ == "__main__":
    main()
