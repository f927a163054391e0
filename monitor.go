package live

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Monitoring routes (spec §9.2), under Options.Prefix:
//
//	GET  {prefix}/stats                  server, component and room statistics
//	GET  {prefix}/components             {"names":[...]}
//	POST {prefix}/rooms/{roomId}/messages  emits "message:new" with the body as data
//	POST {prefix}/rooms/{roomId}/emit      body {"event":..., "data":...}
//
// The GET routes are on unless Options.DisableMonitoring. The POST routes
// are refused (403) unless Options.MonitorAuthorizer is set and admits the
// request — the reference leaves them open to anyone (spec §6.5).

// monitorStats is the JSON of GET {prefix}/stats.
type monitorStats struct {
	Server     Stats              `json:"server"`
	Components monitorComponents  `json:"components"`
	Rooms      monitorRoomSummary `json:"rooms"`
}

type monitorComponents struct {
	Names      []string                    `json:"names"`
	Singletons map[string]monitorSingleton `json:"singletons"`
}

type monitorSingleton struct {
	ComponentID string `json:"componentId"`
	Connections int    `json:"connections"`
}

type monitorRoomSummary struct {
	TotalRooms int                    `json:"totalRooms"`
	Rooms      map[string]monitorRoom `json:"rooms"`
}

type monitorRoom struct {
	Members int    `json:"members"`
	Typed   bool   `json:"typed"`
	Created string `json:"createdAt"`
}

// StatsJSON returns what GET {prefix}/stats serves.
func (s *Server) StatsJSON() ([]byte, error) {
	ms := monitorStats{
		Server:     s.Stats(),
		Components: monitorComponents{Names: s.ComponentNames(), Singletons: map[string]monitorSingleton{}},
		Rooms:      monitorRoomSummary{Rooms: map[string]monitorRoom{}},
	}
	s.singletonMu.Lock()
	for name, in := range s.singletons {
		ms.Components.Singletons[name] = monitorSingleton{ComponentID: in.id, Connections: in.subscriberCount()}
	}
	s.singletonMu.Unlock()
	s.rooms.Range(func(id string, r *room) bool {
		r.mu.Lock()
		ms.Rooms.Rooms[id] = monitorRoom{Members: len(r.members), Typed: r.typed != nil, Created: r.createdAt.UTC().Format("2006-01-02T15:04:05.000Z")}
		r.mu.Unlock()
		return true
	})
	ms.Rooms.TotalRooms = len(ms.Rooms.Rooms)
	return json.Marshal(ms)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveMonitor handles a monitoring route; it reports false when path is
// not one.
func (s *Server) serveMonitor(w http.ResponseWriter, r *http.Request, path string) bool {
	switch {
	case path == "/stats" || path == "/components":
		if s.opts.DisableMonitoring {
			return false
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "method not allowed"})
			return true
		}
		if path == "/components" {
			writeJSON(w, http.StatusOK, map[string]any{"names": s.ComponentNames()})
			return true
		}
		b, err := s.StatsJSON()
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
		return true
	case strings.HasPrefix(path, "/rooms/"):
		rest := strings.TrimPrefix(path, "/rooms/")
		roomID, action, ok := strings.Cut(rest, "/")
		if !ok || (action != "messages" && action != "emit") {
			return false
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"success": false, "error": "method not allowed"})
			return true
		}
		if s.opts.MonitorAuthorizer == nil {
			writeJSON(w, http.StatusForbidden, map[string]any{"success": false, "error": "monitoring writes are disabled (set Options.MonitorAuthorizer)"})
			return true
		}
		if err := s.opts.MonitorAuthorizer(r); err != nil {
			writeJSON(w, http.StatusForbidden, map[string]any{"success": false, "error": "forbidden"})
			return true
		}
		if !validRoomID(roomID) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": msgInvalidRoom})
			return true
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxMessageSize+1))
		if err != nil || int64(len(body)) > s.opts.MaxMessageSize {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"success": false, "error": "Payload too large"})
			return true
		}
		event, data := "message:new", json.RawMessage(body)
		if action == "emit" {
			var req struct {
				Event json.RawMessage `json:"event"`
				Data  json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(body, &req); err != nil || len(req.Event) == 0 || req.Event[0] != '"' {
				writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": "event must be a string"})
				return true
			}
			_ = json.Unmarshal(req.Event, &event)
			data = req.Data
		}
		if len(data) == 0 {
			data = json.RawMessage("null")
		} else if !json.Valid(data) {
			writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "error": "body must be JSON"})
			return true
		}
		if _, err := s.EmitToRoom(roomID, event, data); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"success": false, "error": err.Error()})
			return true
		}
		resp := map[string]any{"success": true, "roomId": roomID}
		if action == "emit" {
			resp["event"] = event
		}
		writeJSON(w, http.StatusOK, resp)
		return true
	}
	return false
}
