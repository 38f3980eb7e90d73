#!/usr/bin/env python3
"""Writes an OpenDocument text whose one picture is linked, not embedded.

Usage: make_linked_odt.py URL OUT.odt

The picture is only a reference to URL (xlink:href), as a document made with
"Insert > Image > Link" has it: LibreOffice fetches it when it opens the
document. html_office_test serves URL on 127.0.0.1 to see whether it does.
"""
import sys
import zipfile
from xml.sax.saxutils import quoteattr

CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
 xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.2">
<office:body><office:text>
<text:p>Linked picture below</text:p>
<text:p><draw:frame draw:name="picture" text:anchor-type="as-char"
 svg:width="8cm" svg:height="8cm"><draw:image xlink:href={url}
 xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/></draw:frame></text:p>
</office:text></office:body>
</office:document-content>
"""

MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest
 xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/"
  manifest:media-type="application/vnd.oasis.opendocument.text"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""


def main():
    url, out = sys.argv[1], sys.argv[2]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as odt:
        # First and uncompressed, as OpenDocument requires: how render_document
        # (and anything else) knows the type from the first bytes.
        odt.writestr("mimetype", "application/vnd.oasis.opendocument.text",
                     compress_type=zipfile.ZIP_STORED)
        odt.writestr("META-INF/manifest.xml", MANIFEST)
        odt.writestr("content.xml", CONTENT.format(url=quoteattr(url)))


if __name__ == "__main__":
    main()
