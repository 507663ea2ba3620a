"use client";
import { useState } from "react";
import { Button, Empty } from "@/components/ui";
import { groupByDay, timeLabel, type Slot } from "@/lib/scheduling";

/**
 * Free slots grouped by day, in `zone` (named in the legend): one day's times at a time (a week
 * of times would be a very long page on a phone). Each time is a radio button, so the list is
 * one tab stop and arrow keys move between times.
 *
 * The search answers a page of times at a time, earliest first. With `more`, later times
 * exist: the last day's count reads "N+ free" (the rest of that day may be on the next page)
 * and a button loads the next page.
 */
export function SlotPicker({
  slots,
  zone,
  value,
  onChange,
  providerName,
  more,
}: {
  slots: Slot[];
  zone: string;
  value: string | null;
  onChange: (key: string) => void;
  providerName?: (id: string) => string | undefined;
  more?: { onMore: () => void; pending: boolean };
}) {
  const days = groupByDay(slots, zone);
  const [chosenDay, setChosenDay] = useState<string | null>(null);
  const moreButton = more && (
    <Button type="button" variant="secondary" pending={more.pending} onClick={more.onMore}>
      Show later times
    </Button>
  );
  if (slots.length === 0)
    return more ? (
      <div className="space-y-3">
        <p className="text-sm text-slate-600">No free times yet in the part of these dates searched so far.</p>
        {moreButton}
      </div>
    ) : (
      <Empty>No free times in these dates. Try later dates, another provider, or join the waitlist.</Empty>
    );
  const day = days.find((d) => d.day === chosenDay) ?? days[0]!;
  const lastDay = days[days.length - 1]!.day;
  return (
    <div className="space-y-4">
      <div role="group" aria-label="Day" className="flex flex-wrap gap-2">
        {days.map((d) => (
          <button
            key={d.day}
            type="button"
            aria-pressed={d.day === day.day}
            onClick={() => setChosenDay(d.day)}
            className={`min-h-11 rounded-md border px-3 py-1.5 text-left text-sm ${d.day === day.day ? "border-teal-700 bg-teal-50 font-semibold text-teal-900" : "border-slate-300 bg-white text-slate-800 hover:border-teal-700"}`}
          >
            {d.label}
            <span className="block text-xs font-normal text-slate-600">
              {d.slots.length}
              {more && d.day === lastDay ? "+" : ""} free
            </span>
          </button>
        ))}
      </div>
    <fieldset>
      <legend className="text-sm font-medium text-slate-800">
        Available times <span className="font-normal text-slate-600">(shown in {zone.replace(/_/g, " ")})</span>
      </legend>
      <div className="mt-3 space-y-4">
        {[day].map((d) => (
          <div key={d.day}>
            <h3 className="text-sm font-semibold text-slate-900">{d.label}</h3>
            <div className="mt-2 grid grid-cols-2 gap-2 sm:grid-cols-4 lg:grid-cols-6">
              {d.slots.map((s) => {
                const key = slotKey(s);
                const who = providerName?.(s.provider_id);
                return (
                  <label
                    key={key}
                    className={`flex min-h-11 cursor-pointer flex-col justify-center rounded-md border px-3 py-2 text-sm has-[:focus-visible]:outline has-[:focus-visible]:outline-3 has-[:focus-visible]:outline-offset-2 has-[:focus-visible]:outline-teal-700 ${
                      value === key ? "border-teal-700 bg-teal-700 text-white" : "border-slate-300 bg-white text-slate-900 hover:border-teal-700"
                    }`}
                  >
                    <input type="radio" name="slot" value={key} checked={value === key} onChange={() => onChange(key)} className="sr-only" />
                    <span className="font-semibold">{timeLabel(s.starts_at, zone)}</span>
                    {who && <span className={`text-xs ${value === key ? "text-teal-50" : "text-slate-600"}`}>{who}</span>}
                  </label>
                );
              })}
            </div>
          </div>
        ))}
      </div>
    </fieldset>
    {moreButton}
    </div>
  );
}

export function slotKey(s: Slot): string {
  return `${s.provider_id}|${s.starts_at}`;
}
