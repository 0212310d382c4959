/*=========================================================================
 *
 *  Copyright NumFOCUS
 *
 *  Licensed under the Apache License, Version 2.0 (the "License");
 *  you may not use this file except in compliance with the License.
 *  You may obtain a copy of the License at
 *
 *         http://www.apache.org/licenses/LICENSE-2.0.txt
 *
 *  Unless required by applicable law or agreed to in writing, software
 *  distributed under the License is distributed on an "AS IS" BASIS,
 *  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 *  See the License for the specific language governing permissions and
 *  limitations under the License.
 *
 *=========================================================================*/
#ifndef KMeansCLI_DicomElementScan_h
#define KMeansCLI_DicomElementScan_h

#include <cstdint>
#include <string>

namespace kmeans_cli
{
/** What ScanDicomElements found. */
enum class DicomElementScanResult
{
  NotDicom, // neither "DICM" at byte 128, nor a file meta group or a data set at the start: not for GDCM
  Valid,    // every element header and value lies inside the file
  Deflated  // a deflated transfer syntax: the data set is compressed and was not scanned (the meta group was)
};

/** Walks the element stream of a DICOM file (PS3.5 section 7) without reading values: the file meta group
 * (explicit VR little endian), then the data set in its transfer syntax (explicit or implicit VR, little or big
 * endian), into sequences and items of defined and undefined length and the fragments of encapsulated pixel
 * data, and checks that every element's declared length lies within the file (and within its sequence or item).
 * Pixel data whose length runs past the end of the file end the scan: that is a file cut short, which the
 * caller reports itself (CheckDicomSeries), unless the length is larger than the file and 16 MiB (GDCM would
 * allocate it). Lengths are read as GDCM 3.0 reads them: a VR of two printable characters that PS3.5 does not
 * define as UN, a meta group whose first VR is not a VR with implicit VRs, and after the first VR of other bytes
 * in an explicit VR data set, also with the 16-bit lengths GDCM falls back to; an explicit VR big endian data set
 * (by its transfer syntax, or by GDCM's guess for a data set without meta group) up to its first bytes that are
 * not a VR, after which GDCM reads on little endian. Top-level elements with a lower tag than an element at or
 * above (7fe0,0010) before them are refused: GDCM's header reading up to the pixel data stops there, its reading
 * of the whole file does not, so the header checks would not see them.
 *
 * GDCM 3.0 trusts these lengths: it allocates a declared length before it finds the file short (hundreds of MB
 * for a 1 KB file) and aborts on an assertion for some damaged meta groups. Checking them first, as the
 * fuzzing fixes of DICOM readers do, turns such files into a one-line error. The scan reads only element
 * headers (8 or 12 bytes each) and the transfer syntax UID.
 *
 * Throws FileError naming \a fileName and the offending element, its byte offset and the file size when the
 * file is a damaged DICOM file. */
DicomElementScanResult
ScanDicomElements(const std::string & fileName);
} // namespace kmeans_cli

#endif
