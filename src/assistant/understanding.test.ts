import { describe, expect, it } from 'vitest';
import {
  detectIntent,
  detectService,
  isFarewell,
  isNo,
  isYes,
  parseDay,
  parseName,
  parseOrdinal,
  parsePhoneNumber,
  parseTime,
  parseVehicle,
  serviceFromAnswer,
} from './understanding.js';

const ZONE = 'America/New_York';
// Tuesday, December 1, 2026, 10:00 in New York.
const NOW = new Date('2026-12-01T15:00:00Z');

describe('parseDay', () => {
  it.each([
    ['today please', '2026-12-01'],
    ['tomorrow at 2 pm', '2026-12-02'],
    ['the day after tomorrow', '2026-12-03'],
    ["what's free on Friday?", '2026-12-04'],
    ['next Monday', '2026-12-07'],
    ['tuesday', '2026-12-08'],
    ['Sat', '2026-12-05'],
    ['2026-12-10', '2026-12-10'],
    ['December 3', '2026-12-03'],
    ['dec 3rd at 10', '2026-12-03'],
    ['the 15th of December', '2026-12-15'],
    ['January 5', '2027-01-05'],
    ['November 20', '2027-11-20'],
    ['February 30', undefined],
    ['2026-02-30', undefined],
    ['2019 Honda Civic', undefined],
    ['sometime soon', undefined],
  ])('%s -> %s', (text, expected) => {
    expect(parseDay(text, NOW, ZONE)).toBe(expected);
  });
});

describe('parseTime', () => {
  it.each([
    ['2 pm', undefined, { hour: 14, minute: 0 }],
    ['at 2:30pm', undefined, { hour: 14, minute: 30 }],
    ['10 a.m.', undefined, { hour: 10, minute: 0 }],
    ['two pm', undefined, { hour: 14, minute: 0 }],
    ['12 am', undefined, { hour: 0, minute: 0 }],
    ['14:00', undefined, { hour: 14, minute: 0 }],
    ['9:30', undefined, { hour: 9, minute: 30 }],
    ['noon', undefined, { hour: 12, minute: 0 }],
    ['move it to Thursday at 10', undefined, { hour: 10, minute: 0 }],
    ['at 3', undefined, { hour: 15, minute: 0 }],
    ['4', true, { hour: 16, minute: 0 }],
    ['4', false, undefined],
    ['2019 Honda Civic', false, undefined],
    ['December 3rd', false, undefined],
    ['13 pm', undefined, undefined],
  ])('%s (expecting a time: %s)', (text, expectingTime, expected) => {
    expect(parseTime(text, { expectingTime: expectingTime ?? false })).toEqual(expected);
  });
});

describe('parseVehicle', () => {
  it.each([
    ['I have a 2019 Honda Civic', { year: 2019, make: 'Honda', model: 'Civic' }],
    ['2019 honda civic', { year: 2019, make: 'Honda', model: 'Civic' }],
    ['a 2021 Ford F-150 please', { year: 2021, make: 'Ford', model: 'F-150' }],
    ['2022 Tesla Model 3', { year: 2022, make: 'Tesla', model: 'Model 3' }],
    ['2018 honda cr-v', { year: 2018, make: 'Honda', model: 'CR-V' }],
    ['Toyota Camry 2020', { year: 2020, make: 'Toyota', model: 'Camry' }],
    ['book my 2015 Mazda 3 for tomorrow', { year: 2015, make: 'Mazda', model: '3' }],
    ['2035 Honda Civic', undefined],
    ['2026-12-03 at 2 pm', undefined],
    ['a Honda', undefined],
  ])('%s', (text, expected) => {
    expect(parseVehicle(text, NOW)).toEqual(expected);
  });
});

describe('parseName', () => {
  it.each([
    ['Sam Lee', true, { first: 'Sam', last: 'Lee' }],
    ['sam lee', true, { first: 'Sam', last: 'Lee' }],
    ["Sure, it's Maria de la Cruz", true, { first: 'Maria', last: 'de la Cruz' }],
    ['my name is Sam Lee', false, { first: 'Sam', last: 'Lee' }],
    ["Hi, this is Sam O'Neil and I'd like to book", false, { first: 'Sam', last: "O'Neil" }],
    ['Sam', true, { first: 'Sam', last: undefined }],
    ['Sam', false, undefined],
    ["I'm good", false, undefined],
    ['I am looking for an appointment', false, undefined],
    ['yes', true, undefined],
    ['book an oil change', true, undefined],
  ])('%s (asked: %s)', (text, asked, expected) => {
    expect(parseName(text, asked)).toEqual(expected);
  });
});

describe('intents, answers and services', () => {
  it.each([
    ['book an oil change tomorrow', 'book'],
    ['cancel my appointment', 'cancel'],
    ['move it to Thursday at 10', 'reschedule'],
    ['can I reschedule', 'reschedule'],
    ["what's free on Friday?", 'availability'],
    ['my name is Sam Lee', undefined],
  ])('intent of %s', (text, expected) => {
    expect(detectIntent(text)).toBe(expected);
  });

  it.each([
    ['yes please', true, false],
    ['Yeah, book it', true, false],
    ['sounds good', true, false],
    ['no', false, true],
    ["nope, that's wrong", false, true],
    ['maybe', false, false],
  ])('%s is yes: %s, no: %s', (text, yes, no) => {
    expect(isYes(text)).toBe(yes);
    expect(isNo(text)).toBe(no);
  });

  it.each([
    ['bye', true],
    ["no thanks, that's all", true],
    ['goodbye!', true],
    ['book a brake job', false],
  ])('farewell: %s', (text, expected) => {
    expect(isFarewell(text)).toBe(expected);
  });

  it.each([
    ['book an oil change tomorrow', 'Oil change'],
    ['my brakes squeak', 'Brake service'],
    ['I need a service', undefined],
    ['move it to Thursday', undefined],
  ])('service named in %s', (text, expected) => {
    expect(detectService(text)?.name).toBe(expected);
  });

  it.each([
    ['an oil change', 'Oil change'],
    ['my AC blows warm air', 'my AC blows warm air'],
    ['tell me a joke', undefined],
  ])('service answer %s', (text, expected) => {
    expect(serviceFromAnswer(text)).toBe(expected);
  });

  it.each([
    ['the first one', 0],
    ['second please', 1],
    ['the last one', -1],
    ['whatever', undefined],
  ])('ordinal %s', (text, expected) => {
    expect(parseOrdinal(text)).toBe(expected);
  });

  it.each([
    ['555 123 4567, Lee', '5551234567'],
    ['+1 (555) 123-4567', '+15551234567'],
    ['call me at 12', undefined],
  ])('phone number in %s', (text, expected) => {
    expect(parsePhoneNumber(text)).toBe(expected);
  });
});
