// Package speech turns audio into text and text into audio with Workers AI models.
//
// # Speech recognition
//
// Transcribe sends audio to Whisper, WhisperTinyEN, WhisperLargeV3Turbo or Nova3 in the
// form each takes and returns a Transcript: text, language, duration, segments and words
// with their times, and WebVTT subtitles when the model gives them. The audio type is
// sniffed from the bytes (AudioType: WAV, MP3, OGG, FLAC, WebM, M4A) and checked, with the
// options and the size, before anything is sent. Long audio is split, PCM WAV at pauses
// and MP3 at frame boundaries, and the pieces are transcribed concurrently, paced to the
// model's requests-per-minute limit, then joined with their times shifted so the result
// reads as one.
//
// # Text to speech
//
// Speak reads text aloud with Aura1, Aura2EN, Aura2ES or MeloTTS and returns the audio
// bytes with their sniffed MIME type. Text longer than a request takes is split at
// sentence ends and the pieces' audio joined (see Speak for how).
//
// # Tools
//
// TranscribeTool and SpeakTool give an agent the two tasks as typed tools.
//
// # Cost
//
// Every result carries the neurons billed (llm.Usage): what the service reported, or, when
// it reported none, the catalog's price per audio minute (whisper, nova-3, melotts) or per
// thousand characters (aura), marked estimated. Each request's usage also reaches the
// function of llm.WithUsageFunc, so an agent counts what its speech tools spend toward its
// usage and budget.
package speech
