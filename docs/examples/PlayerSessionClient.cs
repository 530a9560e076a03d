// A Unity client of the player session service (Unity 2020.2 or newer). Add it to a GameObject
// that lives for the whole game, set the service's URL (and its API key, if it has API_KEYS),
// then call SessionStarted and SessionEnded; events go out in batches of at most 10.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Text;
using UnityEngine;
using UnityEngine.Networking;

public class PlayerSessionClient : MonoBehaviour
{
    const int MaxBatch = 10; // the service takes 1 to 10 events per request
    const int MaxAttempts = 6;

    [SerializeField] string baseUrl = "http://127.0.0.1:8000";
    [SerializeField] string apiKey = ""; // empty while the service's ingest is open
    [SerializeField] float flushIntervalSeconds = 5f;
    [SerializeField] bool compress = true; // gzip the body: game traffic is mostly repeated ids

    [Serializable]
    public class EventRow
    {
        public string @event; // "start" or "end" (serialised as "event")
        public string player_id;
        public string session_id;
        public string ts;
        public string country; // ISO 3166-1 alpha-2 on "start"; ignored on "end"
    }

    [Serializable]
    public class Batch
    {
        public EventRow[] rows;
        public string sent_at; // this device's clock as the batch leaves
    }

    enum Outcome { Stored, Refused, Unavailable }

    readonly List<EventRow> pending = new List<EventRow>();
    bool flushing;

    public void SessionStarted(string playerId, Guid sessionId, string country)
    {
        pending.Add(new EventRow { @event = "start", player_id = playerId, session_id = sessionId.ToString(), ts = UtcNow(), country = country });
    }

    public void SessionEnded(string playerId, Guid sessionId)
    {
        pending.Add(new EventRow { @event = "end", player_id = playerId, session_id = sessionId.ToString(), ts = UtcNow() });
    }

    // UTC, with its offset ("2026-11-26T12:00:00.0000000Z"). Never DateTime.Now.ToString("s"):
    // local time without an offset, which the service reads as UTC, off by the time zone.
    static string UtcNow()
    {
        return DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture);
    }

    IEnumerator Start()
    {
        while (true)
        {
            yield return new WaitForSecondsRealtime(flushIntervalSeconds);
            if (!flushing && pending.Count > 0)
                yield return Flush();
        }
    }

    IEnumerator Flush()
    {
        flushing = true;
        while (pending.Count > 0)
        {
            int count = Math.Min(MaxBatch, pending.Count);
            var outcome = Outcome.Unavailable;
            yield return Send(pending.GetRange(0, count).ToArray(), result => outcome = result);
            if (outcome == Outcome.Unavailable)
                break; // kept: the next flush sends them again
            pending.RemoveRange(0, count); // stored, or refused for good (logged)
        }
        flushing = false;
    }

    IEnumerator Send(EventRow[] rows, Action<Outcome> done)
    {
        for (int attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            // sent_at is set on every attempt: the service moves each ts by (its clock - sent_at),
            // so events of a device whose clock is wrong still land at the right time.
            string json = JsonUtility.ToJson(new Batch { rows = rows, sent_at = UtcNow() });
            byte[] body = Encoding.UTF8.GetBytes(json);
            float delay;
            using (var request = new UnityWebRequest(baseUrl.TrimEnd('/') + "/events", UnityWebRequest.kHttpVerbPOST))
            {
                request.uploadHandler = new UploadHandlerRaw(compress ? Gzip(body) : body);
                request.downloadHandler = new DownloadHandlerBuffer();
                request.SetRequestHeader("Content-Type", "application/json");
                if (compress)
                    request.SetRequestHeader("Content-Encoding", "gzip");
                if (!string.IsNullOrEmpty(apiKey))
                    request.SetRequestHeader("X-API-Key", apiKey);
                yield return request.SendWebRequest();

                if (request.result == UnityWebRequest.Result.Success)
                {
                    done(Outcome.Stored);
                    yield break;
                }
                if (request.result == UnityWebRequest.Result.ProtocolError && request.responseCode != 503)
                {
                    // A 4xx names every problem in {"error": ..., "details": [...]} and stores
                    // nothing of the batch; sending it again would not help.
                    Debug.LogError($"POST /events refused ({request.responseCode}): {request.downloadHandler.text}");
                    done(Outcome.Refused);
                    yield break;
                }
                // 503 (Cassandra unavailable) or no answer at all: every write is idempotent, so
                // the whole batch is sent again, never sooner than the service's Retry-After.
                delay = RetryDelay(request.GetResponseHeader("Retry-After"), attempt);
            }
            if (attempt < MaxAttempts)
                yield return new WaitForSecondsRealtime(delay);
        }
        done(Outcome.Unavailable);
    }

    static float RetryDelay(string retryAfter, int attempt)
    {
        float backoff = Mathf.Min(30f, 0.5f * Mathf.Pow(2f, attempt - 1)) * UnityEngine.Random.Range(0.5f, 1f);
        int seconds;
        if (int.TryParse(retryAfter, NumberStyles.None, CultureInfo.InvariantCulture, out seconds))
            return Mathf.Max(seconds, backoff);
        return backoff;
    }

    static byte[] Gzip(byte[] data)
    {
        using (var output = new MemoryStream())
        {
            using (var gzip = new GZipStream(output, CompressionMode.Compress))
                gzip.Write(data, 0, data.Length);
            return output.ToArray(); // after the GZipStream is closed, so its last block is in
        }
    }
}
